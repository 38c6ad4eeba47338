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

    /// <summary>
    /// The model in an InfoGpu checkpoint or, with no InfoGpu checksum, in a safetensors file
    /// written by another tool (<paramref name="verified"/> is then false): InfoGpu's names (W
    /// [nv, nh], b [nv], c [nh]) or scikit-learn's BernoulliRBM attributes (components_ [nh, nv],
    /// intercept_visible_ [nv], intercept_hidden_ [nh]), float32 or float64.
    /// </summary>
    public static Rbm LoadModel(string path, out bool verified)
    {
        var set = SafeTensors.Read(path, requireChecksum: false);
        verified = set.Verified;
        if (set.Verified)
        {
            set.RequireFormat(Format, path, "an RBM", "infogpu rbm train");
            return LoadModel(set);
        }
        var foreign = new TensorSet { Source = set.Source };
        if (set.Contains("components_") && set.Contains("intercept_visible_") && set.Contains("intercept_hidden_"))
        {
            var comp = Floats(set, "components_");
            var shape = set.Tensors["components_"].Shape;
            if (shape.Length != 2)
                throw new InfoGpuException($"{path}: components_ has shape [{string.Join(", ", shape)}]; scikit-learn's is [hidden, visible]");
            int nh = (int)shape[0], nv = (int)shape[1];
            var w = new float[comp.Length];
            for (int j = 0; j < nh; j++)
            {
                for (int i = 0; i < nv; i++)
                    w[(long)i * nh + j] = comp[(long)j * nv + i];
            }
            var b = Floats(set, "intercept_visible_");
            var c = Floats(set, "intercept_hidden_");
            if (b.Length != nv || c.Length != nh)
                throw new InfoGpuException($"{path}: components_ is [{nh}, {nv}] but intercept_visible_ has {b.Length} values and intercept_hidden_ {c.Length}");
            foreign.Add("W", w, nv, nh);
            foreign.Add("b", b, nv);
            foreign.Add("c", c, nh);
        }
        else if (set.Contains("W") && set.Contains("b") && set.Contains("c"))
        {
            var shape = set.Tensors["W"].Shape;
            var b = Floats(set, "b");
            var c = Floats(set, "c");
            if (shape.Length != 2 || shape[0] != b.Length || shape[1] != c.Length)
                throw new InfoGpuException($"{path}: W has shape [{string.Join(", ", shape)}]; InfoGpu's layout is [visible, hidden] = [{b.Length}, {c.Length}] (scikit-learn's components_ is the transpose)");
            foreign.Add("W", Floats(set, "W"), b.Length, c.Length);
            foreign.Add("b", b, b.Length);
            foreign.Add("c", c, c.Length);
        }
        else
        {
            throw new InfoGpuException($"{path} has no InfoGpu checksum and neither RBM layout: give W, b, c (InfoGpu) or components_, intercept_visible_, intercept_hidden_ (scikit-learn)");
        }
        return LoadModel(foreign);
    }

    /// <summary>A float32 or float64 tensor as float32 (a float64 value outside float32's range becomes infinite and is then refused as non-finite).</summary>
    private static float[] Floats(TensorSet set, string name) => set.Tensors[name].DType switch
    {
        "F32" => set.GetFloat(name),
        "F64" => Array.ConvertAll(set.GetDouble(name), d => (float)d),
        var other => throw new InfoGpuException($"{set.Source}: tensor '{name}' is {other}; give float32 or float64"),
    };

    /// <summary>The trainer settings stored in a checkpoint.</summary>
    public static RbmTrainerOptions ReadOptions(TensorSet set)
    {
        return set.GetConfig<RbmTrainerOptions>(JsonOptions);
    }

    /// <summary>The settings as the JSON stored in checkpoints.</summary>
    public static string OptionsToJson(RbmTrainerOptions options) => JsonSerializer.Serialize(options, JsonOptions);
}
