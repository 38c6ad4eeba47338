using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Distributed;
using InfoGpu.Training;

namespace InfoGpu.Variational;

/// <summary>
/// VAE checkpoints in the safetensors format: the parameters under the names and shapes of
/// PyTorch's examples/vae model (fc1, fc21 = the mean head, fc22 = the log-variance head, fc3,
/// fc4; weight [out, in] then bias [out]), so <c>load_state_dict</c> takes them as they are; the
/// Adam moments (adam.m.NAME, adam.v.NAME),
/// the counters (state = [adam step, completed epochs, batches done in the current epoch]) and
/// the configuration as JSON in the metadata ("config"). Written atomically with a SHA-256.
/// Files written before the heads were split (one fc2 tensor, fc21 above fc22) are still read.
/// </summary>
public static class VaeCheckpoint
{
    /// <summary>The metadata 'format' value of VAE checkpoints.</summary>
    public const string Format = "infogpu-vae-1";

    /// <summary>Writes the model alone (no optimizer state), as <c>vae eval</c> reads it.</summary>
    public static void SaveModel(string path, Vae vae, VaeTrainerOptions? options = null)
    {
        var set = new TensorSet();
        AddModel(set, vae, options ?? new VaeTrainerOptions());
        SafeTensors.Write(path, set);
    }

    /// <summary>Reads the model of a checkpoint or model file.</summary>
    public static Vae LoadModel(string path) => ReadModel(SafeTensors.Read(path), path).Vae;

    /// <summary>
    /// The model of an InfoGpu checkpoint or, with no InfoGpu checksum, of a safetensors file
    /// written by another tool (<paramref name="verified"/> is then false) holding PyTorch's
    /// examples/vae state dict: fc1 [H, I], fc21 and fc22 [L, H], fc3 [H, L], fc4 [I, H] (weight
    /// [out, in], bias [out]), float32; the sizes come from the shapes, other tensors are ignored.
    /// </summary>
    public static Vae LoadModel(string path, out bool verified)
    {
        var set = SafeTensors.Read(path, requireChecksum: false);
        verified = set.Verified;
        if (set.Verified)
            return ReadModel(set, path).Vae;
        long[] Shape(string name) => set.Tensors.TryGetValue(name, out var t)
            ? t.Shape
            : throw new InfoGpuException($"{path} has no InfoGpu checksum and no tensor '{name}': a VAE from another tool needs PyTorch's examples/vae names fc1, fc21, fc22, fc3, fc4 (.weight and .bias)");
        var fc1 = Shape("fc1.weight");
        var fc21 = Shape("fc21.weight");
        if (fc1.Length != 2 || fc21.Length != 2 || fc1[0] < 1 || fc1[1] < 1 || fc21[0] < 1 || fc21[1] != fc1[0])
            throw new InfoGpuException($"{path}: fc1.weight [{string.Join(", ", fc1)}] and fc21.weight [{string.Join(", ", fc21)}] are not [hidden, input] and [latent, hidden]");
        long input = fc1[1], hidden = fc1[0], latent = fc21[0];
        if (input * hidden > Vae.MaxTensorElements || hidden * latent > Vae.MaxTensorElements)
            throw new InfoGpuException($"{path}: a {input}-{hidden}-{latent} VAE is larger than InfoGpu takes ({Vae.MaxTensorElements} values per tensor)");
        foreach (var (name, want) in new (string, long[])[]
        {
            ("fc1.bias", [hidden]), ("fc21.bias", [latent]), ("fc22.weight", [latent, hidden]), ("fc22.bias", [latent]),
            ("fc3.weight", [hidden, latent]), ("fc3.bias", [hidden]), ("fc4.weight", [input, hidden]), ("fc4.bias", [input]),
        })
        {
            var shape = Shape(name);
            if (!shape.SequenceEqual(want))
                throw new InfoGpuException($"{path}: tensor '{name}' has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", want)}] for the {input}-{hidden}-{latent} VAE that fc1 and fc21 describe");
            if (set.Tensors[name].DType != "F32")
                throw new InfoGpuException($"{path}: tensor '{name}' is {set.Tensors[name].DType}; give float32 tensors");
        }
        var vae = new Vae((int)input, (int)hidden, (int)latent);
        foreach (var t in vae.Tensors)
        {
            var v = GetTensor(set, t.Name) ?? throw new InfoGpuException($"{path} has no tensor '{t.Name}'");
            TensorSet.RequireFinite<float>(v, t.Name, path);
            v.CopyTo(t.Values, 0);
        }
        return vae;
    }

    /// <summary>The options a checkpoint was trained with.</summary>
    public static VaeTrainerOptions LoadOptions(string path) => ReadModel(SafeTensors.Read(path), path).Options;

    internal static void AddModel(TensorSet set, Vae vae, VaeTrainerOptions o)
    {
        set.Metadata["format"] = Format;
        set.Metadata["config"] = new JsonObject
        {
            ["input"] = vae.Input,
            ["hidden"] = vae.Hidden,
            ["latent"] = vae.Latent,
            ["lr"] = o.LearningRate,
            ["batch"] = o.BatchSize,
            ["beta"] = o.Beta,
            ["epochs"] = o.Epochs,
            ["seed"] = o.Seed,
            ["binarize"] = o.Binarize,
        }.ToJsonString();
        foreach (var t in vae.Tensors)
            AddTensor(set, t.Name, t.Values, t.Rows, t.Cols);
    }

    /// <summary>
    /// Adds one of the network's tensors under its stored name(s): the fused head fc2 (the engine
    /// computes mu and log-variance in one GEMM) is stored as PyTorch's two heads, fc21 (its first
    /// half of rows, mu) and fc22 (the second, log-variance); a prefix such as "adam.m." is kept.
    /// </summary>
    internal static void AddTensor(TensorSet set, string name, float[] values, int rows, int cols)
    {
        if (SplitHead(name) is not (string mu, string logVar))
        {
            set.Add(name, values, cols == 1 ? [rows] : [rows, cols]);
            return;
        }
        int half = values.Length / 2;
        set.Add(mu, values[..half], cols == 1 ? [rows / 2] : [rows / 2, cols]);
        set.Add(logVar, values[half..], cols == 1 ? [rows / 2] : [rows / 2, cols]);
    }

    /// <summary>The values of one of the network's tensors, from either layout (split heads or the earlier fused fc2); null when absent.</summary>
    internal static float[]? GetTensor(TensorSet set, string name)
    {
        if (SplitHead(name) is (string mu, string logVar) && set.Tensors.ContainsKey(mu) && set.Tensors.ContainsKey(logVar))
        {
            var a = set.GetFloat(mu);
            var b = set.GetFloat(logVar);
            if (a.Length != b.Length)
                return null;
            var fused = new float[a.Length + b.Length];
            a.CopyTo(fused, 0);
            b.CopyTo(fused, a.Length);
            return fused;
        }
        return set.Tensors.ContainsKey(name) ? set.GetFloat(name) : null;
    }

    /// <summary>Values stored for a tensor in either layout (from the header, nothing read), or -1 when it is absent or its heads disagree.</summary>
    private static long StoredValues(TensorSet set, string name)
    {
        if (SplitHead(name) is (string mu, string logVar) && set.Tensors.TryGetValue(mu, out var a) && set.Tensors.TryGetValue(logVar, out var b))
            return a.Data.LongLength == b.Data.LongLength ? 2 * a.Data.LongLength / sizeof(float) : -1;
        return set.Tensors.TryGetValue(name, out var t) ? t.Data.LongLength / sizeof(float) : -1;
    }

    private static (string Mu, string LogVar)? SplitHead(string name)
    {
        int at = name.IndexOf("fc2.", StringComparison.Ordinal);
        if (at < 0 || (at > 0 && name[at - 1] != '.'))
            return null;
        string prefix = name[..at], suffix = name[(at + 4)..];
        return (prefix + "fc21." + suffix, prefix + "fc22." + suffix);
    }

    internal static (Vae Vae, VaeTrainerOptions Options) ReadModel(TensorSet set, string path)
    {
        set.RequireFormat(Format, path, "a VAE", "infogpu vae train");
        try
        {
            var c = JsonNode.Parse(set.GetMetadata("config"))!;
            int input = c["input"]!.GetValue<int>(), hidden = c["hidden"]!.GetValue<int>(), latent = c["latent"]!.GetValue<int>();
            // The tensors in the file must have the sizes the config gives before anything that large is allocated.
            foreach (var (name, count) in new (string, long)[]
            {
                ("fc1.weight", (long)hidden * input), ("fc1.bias", hidden), ("fc2.weight", 2L * latent * hidden), ("fc2.bias", 2L * latent),
                ("fc3.weight", (long)hidden * latent), ("fc3.bias", hidden), ("fc4.weight", (long)input * hidden), ("fc4.bias", input),
            })
            {
                string shown = SplitHead(name) is (string mu, string logVar) ? $"{mu}' and '{logVar}" : name;
                long stored = StoredValues(set, name);
                if (stored < 0)
                    throw new InfoGpuException($"{path} has no tensor '{shown}' (or they differ in size); it is not a complete VAE");
                if (stored != count)
                    throw new InfoGpuException($"{path}: tensor '{shown}' has {stored} values, expected {count} for the {input}-{hidden}-{latent} VAE its config describes");
            }
            var vae = new Vae(input, hidden, latent);
            var options = new VaeTrainerOptions
            {
                LearningRate = c["lr"]!.GetValue<double>(),
                BatchSize = c["batch"]!.GetValue<int>(),
                Beta = c["beta"]!.GetValue<double>(),
                Epochs = c["epochs"]!.GetValue<int>(),
                Seed = c["seed"]!.GetValue<ulong>(),
                Binarize = c["binarize"]!.GetValue<bool>(),
                Hidden = vae.Hidden,
                Latent = vae.Latent,
            };
            foreach (var t in vae.Tensors)
            {
                var v = GetTensor(set, t.Name) ?? throw new InfoGpuException($"{path} has no tensor '{t.Name}'");
                if (v.Length != t.Values.Length)
                    throw new InfoGpuException($"{path}: tensor '{t.Name}' has {v.Length} values, expected {t.Values.Length} for a {vae.Input}-{vae.Hidden}-{vae.Latent} VAE");
                TensorSet.RequireFinite<float>(v, t.Name, path);
                v.CopyTo(t.Values, 0);
            }
            return (vae, options);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InfoGpuException($"{path}: the VAE configuration in the metadata is unreadable ({e.Message.Split('\n')[0]})");
        }
    }
}

public sealed partial class VaeTrainer
{
    /// <summary>
    /// The parameters, the Adam state, the counters (state = [adam step, completed epochs,
    /// batches done in the epoch], partial = [loss, seconds] of the unfinished epoch), the
    /// configuration and the number of training images as a checkpoint that <see cref="Resume(ComputeDevice, TensorSet, Dataset, DataParallel)"/>
    /// continues bit for bit (synchronizes; reads the epoch's losses not read yet).
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss of a batch not read before is not finite: nothing is returned.</exception>
    public TensorSet SaveState()
    {
        ReadLosses(epochStep, step);
        net.Download();
        var set = new TensorSet();
        VaeCheckpoint.AddModel(set, Vae, Options);
        for (int t = 0; t < m.Length; t++)
        {
            var tensor = Vae.Tensors[t];
            VaeCheckpoint.AddTensor(set, "adam.m." + tensor.Name, m[t].ToArray(), tensor.Rows, tensor.Cols);
            VaeCheckpoint.AddTensor(set, "adam.v." + tensor.Name, v[t].ToArray(), tensor.Rows, tensor.Cols);
        }
        set.Add("state", new long[] { step, epoch, epochStep }, 3);
        set.Add("partial", new double[] { partialLoss, partialSeconds }, 2);
        set.Metadata["train_images"] = TrainCount.ToString(CultureInfo.InvariantCulture);
        set.Metadata[DataFingerprint.Key] = TrainFingerprint;
        return set;
    }

    /// <summary>
    /// Rebuilds a trainer from a checkpoint written from <see cref="SaveState"/> on the same
    /// data: training continues exactly where it stopped (bit-identical to an uninterrupted run).
    /// </summary>
    public static VaeTrainer Resume(ComputeDevice device, string path, Dataset data) => Resume(device, SafeTensors.Read(path), data);

    /// <summary>
    /// Rebuilds a trainer from a checkpoint already read by <see cref="SafeTensors.Read(string)"/> (as
    /// <see cref="Resume(ComputeDevice, string, Dataset)"/> does): training continues exactly where it stopped.
    /// </summary>
    /// <exception cref="InfoGpuException">The set is not a VAE training checkpoint, or it was trained on a different number of images.</exception>
    /// <param name="device">Where to train.</param>
    /// <param name="checkpoint">The checkpoint.</param>
    /// <param name="data">The data the run was started with.</param>
    /// <param name="parallel">How each batch is split from now on (null: not split); a single process's checkpoint resumes under MPI and back.</param>
    public static VaeTrainer Resume(ComputeDevice device, TensorSet checkpoint, Dataset data, DataParallel? parallel = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var set = checkpoint;
        string path = set.Source;
        var (vae, options) = VaeCheckpoint.ReadModel(set, path);
        if (!set.Contains("state"))
            throw new InfoGpuException($"{path} holds a model without training state; resume from the DIR/model.safetensors that 'vae train --out DIR' writes during training");
        if (set.Metadata.TryGetValue("train_images", out var n) && n != data.Train.Count.ToString(CultureInfo.InvariantCulture))
            throw new InfoGpuException($"{path} was trained on {n} images, not {data.Train.Count}; resume with the same --data and --limit");
        return new VaeTrainer(device, vae, data, options, parallel).Restored(t =>
        {
            DataFingerprint.Check(set, t.TrainFingerprint);
            t.LoadState(set, path);
        });
    }

    private void LoadState(TensorSet set, string path)
    {
        for (int t = 0; t < m.Length; t++)
        {
            var mm = VaeCheckpoint.GetTensor(set, "adam.m." + Vae.Tensors[t].Name);
            var vv = VaeCheckpoint.GetTensor(set, "adam.v." + Vae.Tensors[t].Name);
            if (mm is null || vv is null || mm.Length != m[t].Length || vv.Length != v[t].Length)
                throw new InfoGpuException($"{path}: Adam state of '{Vae.Tensors[t].Name}' has the wrong size");
            m[t].CopyFrom(mm);
            v[t].CopyFrom(vv);
        }
        var s = set.GetInt64("state");
        var p = set.GetDouble("partial");
        if (s.Length != 3 || p.Length != 2)
            throw new InfoGpuException($"{path}: the training state is malformed");
        if (s[0] < 0 || s[1] < 0 || s[1] > int.MaxValue || s[2] < 0 || s[2] >= StepsPerEpoch)
            throw new InfoGpuException($"{path}: the training counters are out of range (step {s[0]}, epoch {s[1]}, batch {s[2]} of {StepsPerEpoch}); it was not written for this data and batch size");
        step = s[0];
        epoch = (int)s[1];
        epochStep = (int)s[2];
        partialLoss = p[0];
        partialSeconds = p[1];
        lossesRead = epochStep;
        orderReady = false;
    }
}
