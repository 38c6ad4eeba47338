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

    /// <summary>The trainer's whole state as a tensor set, to which a caller may add its own tensors and metadata before writing it with <see cref="SafeTensors.Write"/> (synchronizes with the device).</summary>
    public static TensorSet Capture(BoltzmannTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var s = trainer.CaptureState();
        var m = trainer.Machine;
        int n = m.Units;
        var set = new TensorSet();
        set.Add("W", s.Weights, n, n);
        set.Add("a", s.Biases, n);
        if (s.Chains is not null)
            set.Add("chains", s.Chains, s.Chains.Length / n, n);
        set.Add("counters", new long[] { s.Epoch, s.StepInEpoch, s.Step, s.PositiveStep, s.NegativeStep, s.InitDraw }, 6);
        set.Add("partial_seconds", new double[] { s.PartialSeconds }, 1);
        set.Metadata["format"] = Format;
        set.Metadata["config"] = JsonSerializer.Serialize(trainer.Options, JsonOptions);
        set.Metadata["visible"] = m.Visible.ToString(CultureInfo.InvariantCulture);
        set.Metadata["hidden"] = m.Hidden.ToString(CultureInfo.InvariantCulture);
        set.Metadata["epoch"] = s.Epoch.ToString(CultureInfo.InvariantCulture);
        set.Metadata["step"] = s.Step.ToString(CultureInfo.InvariantCulture);
        return set;
    }

    /// <summary>Writes the trainer's whole state to <paramref name="path"/> atomically, with <paramref name="metadata"/> added (synchronizes).</summary>
    /// <exception cref="InfoGpuException">The file cannot be written.</exception>
    public static void Save(string path, BoltzmannTrainer trainer, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var set = Capture(trainer);
        set.AddMetadata(metadata);
        SafeTensors.Write(path, set);
    }

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
        return m;
    }

    /// <summary>The training settings stored in a checkpoint.</summary>
    /// <exception cref="InfoGpuException">The "config" metadata is missing or not valid settings.</exception>
    public static BoltzmannTrainingOptions ReadOptions(TensorSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return set.GetConfig<BoltzmannTrainingOptions>(JsonOptions);
    }

    /// <summary>
    /// Puts a checkpoint's state into a trainer built with the settings of <see cref="ReadOptions"/>,
    /// the machine of <see cref="LoadMachine"/> and the same data, so that training continues
    /// bit for bit as if it had not stopped.
    /// </summary>
    /// <exception cref="InfoGpuException">The checkpoint has no training state, or it does not fit the trainer.</exception>
    public static void Restore(BoltzmannTrainer trainer, TensorSet set)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(set);
        if (!set.Contains("counters") || !set.Contains("partial_seconds"))
            throw new InfoGpuException($"{set.Source} has no training counters; it holds a machine only and cannot be resumed");
        var c = set.GetInt64("counters");
        var p = set.GetDouble("partial_seconds");
        if (c.Length != 6 || p.Length != 1)
            throw new InfoGpuException($"{set.Source}: counters has {c.Length} values (expected 6) and partial_seconds {p.Length} (expected 1)");
        if (c[0] > int.MaxValue || c[1] > int.MaxValue)
            throw new InfoGpuException($"{set.Source}: the epoch counters are out of range");
        if (trainer.Options.Persistent && c[2] > 0 && !set.Contains("chains"))
            throw new InfoGpuException($"{set.Source} has no persistent chains after {c[2]} steps; it cannot be resumed exactly");
        trainer.RestoreState(
            new BoltzmannTrainingState(
                set.GetDouble("W"), set.GetDouble("a"), set.Contains("chains") ? set.GetFloat("chains") : null,
                (int)c[0], (int)c[1], c[2], c[3], c[4], c[5], p[0]),
            set.Source);
    }

    private static int Count(TensorSet set, string key)
    {
        string v = set.GetMetadata(key);
        if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 0)
            throw new InfoGpuException($"{set.Source}: metadata '{key}' is '{v}', not a unit count");
        return n;
    }
}
