using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using InfoGpu.Checkpoints;

namespace InfoGpu.Restricted;

/// <summary>
/// RBM checkpoints in the safetensors format: W [nv, nh], b [nv], c [nh], the momentum buffers
/// velocity_W/b/c, the sparsity running mean sparsity_q, the persistent chains [C, nv] (PCD),
/// and counters [epoch, step in epoch, step, Philox draws] (int64); the trainer settings as
/// JSON under the metadata key "config". <see cref="RbmTrainer.SaveState"/> makes them,
/// <see cref="RbmTrainer.Resume"/> continues them, a <see cref="Training.TrainingSession{TMetrics}"/>
/// writes them atomically; this class reads the model and the settings back.
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
        if (b.Length == 0 || c.Length == 0)
            throw new InfoGpuException($"{set.Source}: an RBM needs at least one visible and one hidden unit (b has {b.Length} values, c {c.Length})");
        TensorSet.RequireFinite<float>(w, "W", set.Source);
        TensorSet.RequireFinite<float>(b, "b", set.Source);
        TensorSet.RequireFinite<float>(c, "c", set.Source);
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
}
