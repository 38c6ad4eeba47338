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
/// VAE checkpoints in the safetensors format: the parameters under nn.Linear's names
/// (fc1.weight ... fc4.bias; fc2 = fc21 above fc22), the Adam moments (adam.m.NAME, adam.v.NAME),
/// the counters (state = [adam step, completed epochs, batches done in the current epoch]) and
/// the configuration as JSON in the metadata ("config"). Written atomically with a SHA-256.
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
            set.Add(t.Name, t.Values, t.Cols == 1 ? [t.Rows] : [t.Rows, t.Cols]);
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
                if (!set.Tensors.TryGetValue(name, out var t))
                    throw new InfoGpuException($"{path} has no tensor '{name}'; it is not a complete VAE");
                if (t.Data.LongLength != count * sizeof(float))
                    throw new InfoGpuException($"{path}: tensor '{name}' has {t.Data.LongLength / sizeof(float)} values, expected {count} for the {input}-{hidden}-{latent} VAE its config describes");
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
                var v = set.GetFloat(t.Name);
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
            var shape = Vae.Tensors[t].Cols == 1 ? new[] { Vae.Tensors[t].Rows } : [Vae.Tensors[t].Rows, Vae.Tensors[t].Cols];
            set.Add("adam.m." + Vae.Tensors[t].Name, m[t].ToArray(), shape);
            set.Add("adam.v." + Vae.Tensors[t].Name, v[t].ToArray(), shape);
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
    /// Rebuilds a trainer from a checkpoint already read by <see cref="SafeTensors.Read"/> (as
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
            var mm = set.GetFloat("adam.m." + Vae.Tensors[t].Name);
            var vv = set.GetFloat("adam.v." + Vae.Tensors[t].Name);
            if (mm.Length != m[t].Length || vv.Length != v[t].Length)
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
