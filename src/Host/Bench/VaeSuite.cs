using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Training;
using InfoGpu.Variational;

namespace InfoGpu.Host.Bench;

/// <summary>
/// A training epoch of the chapter's VAE (784-400-20, batch 128, Adam) against PyTorch's
/// examples/vae (benchmarks/peers/torch_vae.py) on the same images, both the median of
/// <c>repeat</c> epochs from the same initial state, with the same thread count.
/// </summary>
internal static class VaeSuite
{
    public static IEnumerable<BenchCase> Cases(ComputeDevice device, bool quick, int repeat)
    {
        int? limit = quick ? 5000 : null;
        var data = FashionMnist.Load(null, limit);
        int n = data.Train.Count;
        const int hidden = 400, latent = 20;
        int d = data.Train.Pixels;
        double flops = 6.0 * n * ((double)d * hidden + hidden * 2 * latent + latent * hidden + (double)hidden * d);
        var peerArgs = new List<string> { "--epochs", repeat.ToString(CultureInfo.InvariantCulture), "--hidden", "400", "--latent", "20" };
        if (limit is int l)
            peerArgs.AddRange(["--limit", l.ToString(CultureInfo.InvariantCulture)]);
        if (!FashionMnist.DebianInstalled)
            peerArgs.AddRange(["--data", "/nonexistent-fashion-mnist"]);
        yield return new BenchCase(
            "vae",
            $"vae epoch {d}-{hidden}-{latent}, {n} images",
            () => EpochSeconds(device, data, hidden, latent, repeat),
            flops,
            PeakKind.Flops,
            new PeerSpec("pytorch-vae", "torch_vae.py", [.. peerArgs], j => j["seconds_per_epoch_median"]?.GetValue<double>()));
    }

    /// <summary>Median wall time of <paramref name="repeat"/> training epochs (test evaluation excluded), from a fresh model.</summary>
    private static double EpochSeconds(ComputeDevice device, Dataset data, int hidden, int latent, int repeat)
    {
        var vae = Vae.Create(data.Train.Pixels, hidden, latent, 1);
        using var trainer = new VaeTrainer(device, vae, data, new VaeTrainerOptions { Epochs = repeat, Hidden = hidden, Latent = latent });
        var times = new double[repeat];
        for (int e = 0; e < repeat; e++)
            times[e] = trainer.TrainEpoch().Metrics!.Seconds;
        Array.Sort(times);
        return repeat % 2 == 1 ? times[repeat / 2] : 0.5 * (times[repeat / 2 - 1] + times[repeat / 2]);
    }

    /// <summary>The peer's figures other than time, for the record.</summary>
    internal static double? TestLoss(JsonNode json) => json["epochs"]?.AsArray().LastOrDefault()?["test_loss"]?.GetValue<double>();
}
