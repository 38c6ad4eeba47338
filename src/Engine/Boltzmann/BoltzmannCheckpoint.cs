using System.Globalization;
using System.Text.Json;
using InfoGpu.Checkpoints;

namespace InfoGpu.Boltzmann;

/// <summary>
/// Boltzmann-machine checkpoints in the safetensors format: W [units, units] and a [units]
/// (float64, as the trainer keeps them), the persistent negative chains [chains, units]
/// (float32 0/1, once they exist), counters [epoch, step in epoch, step, positive-phase Gibbs
/// position, negative-phase Gibbs position, initial-bit draws] (int64) and the seconds of the
/// unfinished epoch; the settings as JSON under the metadata key "config" and the unit counts
/// under "visible" and "hidden". Written atomically with a SHA-256 by <see cref="SafeTensors"/>.
/// The data order needs no tensor: it is a Philox function of (seed, epoch).
/// </summary>
public static class BoltzmannCheckpoint
{
    /// <summary>The metadata "format" value of Boltzmann-machine checkpoints.</summary>
    public const string Format = "infogpu-bm-1";

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Reads a checkpoint: checks the checksum, the format, the unit counts and the tensors W and a.</summary>
    /// <exception cref="InfoGpuException">The file is missing, corrupt, truncated, or not a Boltzmann-machine checkpoint; the message names the file.</exception>
    public static TensorSet Read(string path)
    {
        var set = SafeTensors.Read(path);
        set.RequireFormat(Format, path, "a Boltzmann-machine", "infogpu bm train");
        int nv = Count(set, "visible"), nh = Count(set, "hidden");
        int n = nv + nh;
        if (!set.Contains("W") || !set.Contains("a"))
            throw new InfoGpuException($"{path} has no tensor 'W' or 'a'; it is not a complete Boltzmann-machine checkpoint");
        if (set.GetDouble("W").Length != (long)n * n || set.GetDouble("a").Length != n)
            throw new InfoGpuException($"{path}: W or a has the wrong length for {nv} visible and {nh} hidden units");
        return set;
    }

    /// <summary>The machine stored in a checkpoint read by <see cref="Read"/>.</summary>
    public static BoltzmannMachine LoadMachine(TensorSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var m = new BoltzmannMachine(Count(set, "visible"), Count(set, "hidden"));
        var w = set.GetDouble("W");
        var a = set.GetDouble("a");
        if (w.Length != m.Weights.Length || a.Length != m.Biases.Length)
            throw new InfoGpuException($"{set.Source}: W or a has the wrong length for {m.Visible} visible and {m.Hidden} hidden units");
        w.CopyTo(m.Weights, 0);
        a.CopyTo(m.Biases, 0);
        m.Validate(set.Source);
        return m;
    }

    /// <summary>The training settings stored in a checkpoint.</summary>
    /// <exception cref="InfoGpuException">The "config" metadata is missing or not valid settings.</exception>
    public static BoltzmannTrainingOptions ReadOptions(TensorSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var options = set.GetConfig<BoltzmannTrainingOptions>(JsonOptions);
        // Checkpoints of the earlier layout kept the run's epochs in the metadata, not the config.
        if (!set.GetMetadata("config").Contains("\"epochs\"", StringComparison.Ordinal)
            && set.Metadata.TryGetValue("epochs", out var e) && int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out int epochs) && epochs >= 1)
            options = options with { Epochs = epochs };
        try
        {
            options.Validate();
        }
        catch (InfoGpuException x)
        {
            throw new InfoGpuException($"{set.Source}: its settings are out of range ({x.Message})");
        }
        return options;
    }

    /// <summary>The settings as the JSON stored in checkpoints.</summary>
    public static string OptionsToJson(BoltzmannTrainingOptions options) => JsonSerializer.Serialize(options, JsonOptions);

    private static int Count(TensorSet set, string key)
    {
        string v = set.GetMetadata(key);
        if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 0)
            throw new InfoGpuException($"{set.Source}: metadata '{key}' is '{v}', not a unit count");
        return n;
    }
}
