using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using InfoGpu.Checkpoints;

namespace InfoGpu.Restricted;

/// <summary>
/// RBM checkpoints in the safetensors format: W [nv, nh], b [nv], c [nh], the momentum buffers
/// velocity_W/b/c, the sparsity running mean sparsity_q, the persistent chains [C, nv] (PCD),
/// and counters [epoch, step in epoch, step, Philox draws] (int64); the trainer settings as
/// JSON under the metadata key "config". Written atomically by <see cref="SafeTensors"/>.
/// </summary>
public static class RbmCheckpoint
{
    /// <summary>The metadata "format" value of RBM checkpoints.</summary>
    public const string Format = "infogpu-rbm-1";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>Writes the trainer's whole state (synchronizes with the device).</summary>
    public static void Save(string path, RbmTrainer trainer, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var s = trainer.CaptureState();
        var m = trainer.Model;
        var set = new TensorSet();
        set.Add("W", s.Weights, m.Visible, m.Hidden);
        set.Add("b", s.VisibleBias, m.Visible);
        set.Add("c", s.HiddenBias, m.Hidden);
        set.Add("velocity_W", s.VelocityW, m.Visible, m.Hidden);
        set.Add("velocity_b", s.VelocityB, m.Visible);
        set.Add("velocity_c", s.VelocityC, m.Hidden);
        set.Add("sparsity_q", s.Q, m.Hidden);
        if (s.Chains is not null)
            set.Add("chains", s.Chains, s.Chains.Length / m.Visible, m.Visible);
        set.Add("counters", new long[] { s.Epoch, s.StepInEpoch, s.Step, s.Draws }, 4);
        set.Metadata["format"] = Format;
        set.Metadata["config"] = OptionsToJson(trainer.Options);
        set.Metadata["epoch"] = s.Epoch.ToString(CultureInfo.InvariantCulture);
        set.Metadata["step"] = s.Step.ToString(CultureInfo.InvariantCulture);
        set.AddMetadata(metadata);
        SafeTensors.Write(path, set);
    }

    /// <summary>Reads a checkpoint (checks the checksum, the format and the tensors' presence).</summary>
    public static TensorSet Read(string path)
    {
        var set = SafeTensors.Read(path);
        set.RequireFormat(Format, path, "an RBM", "infogpu rbm train");
        foreach (var name in new[] { "W", "b", "c" })
        {
            if (!set.Contains(name))
                throw new InfoGpuException($"{path} has no tensor '{name}'; it is not a complete RBM checkpoint");
        }
        return set;
    }

    /// <summary>The model stored in a checkpoint.</summary>
    public static Rbm LoadModel(TensorSet set)
    {
        var b = set.GetFloat("b");
        var c = set.GetFloat("c");
        var w = set.GetFloat("W");
        if (w.Length != (long)b.Length * c.Length)
            throw new InfoGpuException($"{set.Source}: W has {w.Length} values for {b.Length} visible x {c.Length} hidden units");
        var rbm = new Rbm(b.Length, c.Length);
        w.CopyTo(rbm.Weights, 0);
        b.CopyTo(rbm.VisibleBias, 0);
        c.CopyTo(rbm.HiddenBias, 0);
        return rbm;
    }

    /// <summary>The model stored in the checkpoint file at <paramref name="path"/>.</summary>
    public static Rbm LoadModel(string path) => LoadModel(Read(path));

    /// <summary>The trainer settings stored in a checkpoint.</summary>
    public static RbmTrainerOptions ReadOptions(TensorSet set)
    {
        return set.GetConfig<RbmTrainerOptions>(JsonOptions);
    }

    /// <summary>The settings as the JSON stored in checkpoints.</summary>
    public static string OptionsToJson(RbmTrainerOptions options) => JsonSerializer.Serialize(options, JsonOptions);

    /// <summary>Puts a checkpoint's state into a trainer built with the same settings and data, so that training continues exactly.</summary>
    public static void Restore(RbmTrainer trainer, TensorSet set)
    {
        var counters = set.Contains("counters") ? set.GetInt64("counters") : throw new InfoGpuException($"{set.Source} has no training counters; it holds a model only and cannot be resumed");
        if (counters.Length != 4)
            throw new InfoGpuException($"{set.Source}: counters has {counters.Length} values, expected 4");
        float[] Need(string name) => set.Contains(name) ? set.GetFloat(name) : throw new InfoGpuException($"{set.Source} has no tensor '{name}' and cannot be resumed");
        trainer.RestoreState(new RbmTrainingState(
            Need("W"), Need("b"), Need("c"), Need("velocity_W"), Need("velocity_b"), Need("velocity_c"), Need("sparsity_q"),
            set.Contains("chains") ? set.GetFloat("chains") : null,
            (int)counters[0], (int)counters[1], counters[2], counters[3]));
    }
}
