using InfoGpu.Checkpoints;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Distributed;

/// <summary>
/// A run's <c>--shards</c> is recorded in its checkpoint: <c>--resume</c> without it continues
/// with the recorded shards (bit for bit the uninterrupted run), and other shards are refused in
/// one line before any training.
/// </summary>
public class ShardsOnResumeTests
{
    private static readonly string[] Rbm =
        ["rbm", "train", "--limit", "200", "--hidden", "12", "--batch", "30", "--k", "1", "--sampler", "pcd", "--sample-steps", "1", "--monitor-rows", "40", "--seed", "7", "--accelerator", "cpu", "--quiet"];

    private static readonly string[] Vae =
        ["vae", "train", "--limit", "200", "--hidden", "16", "--latent", "2", "--batch", "40", "--seed", "3", "--accelerator", "cpu", "--quiet"];

    [Fact]
    public void AResumedRbmRunKeepsItsShardsAndEqualsTheUninterruptedRunBitForBit()
    {
        string root = TestPaths.TempDir();
        string whole = Path.Combine(root, "whole"), parts = Path.Combine(root, "parts");
        var straight = ConsoleRunner.Run([.. Rbm, "--shards", "3", "--epochs", "2", "--out", whole]);
        Assert.True(straight.Code == 0, straight.Err);
        var first = ConsoleRunner.Run([.. Rbm, "--shards", "3", "--epochs", "1", "--out", parts]);
        Assert.True(first.Code == 0, first.Err);
        Assert.Equal("3", SafeTensors.Read(Path.Combine(parts, "model.safetensors")).Metadata["shards"]);

        // Other shards are refused in one line, and the checkpoint is left as it was.
        byte[] before = File.ReadAllBytes(Path.Combine(parts, "model.safetensors"));
        var other = ConsoleRunner.Run(["rbm", "train", "--resume", parts, "--epochs", "2", "--shards", "2", "--accelerator", "cpu", "--quiet"]);
        Assert.Equal(2, other.Code);
        Assert.StartsWith("error: --shards cannot change on --resume: the run was trained with 3 shards", other.Err.Trim(), StringComparison.Ordinal);
        Assert.Single(other.Err.Trim().Split('\n'));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(parts, "model.safetensors")));

        // Without --shards the recorded 3 are used: the same bits as the run that was not stopped.
        var resumed = ConsoleRunner.Run(["rbm", "train", "--resume", parts, "--epochs", "2", "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        AssertSameTensors(whole, parts);
        Assert.Equal("3", SafeTensors.Read(Path.Combine(parts, "model.safetensors")).Metadata["shards"]);
    }

    [Fact]
    public void AResumedVaeRunKeepsItsShards()
    {
        string root = TestPaths.TempDir();
        string whole = Path.Combine(root, "whole"), parts = Path.Combine(root, "parts");
        var straight = ConsoleRunner.Run([.. Vae, "--shards", "2", "--epochs", "2", "--out", whole]);
        Assert.True(straight.Code == 0, straight.Err);
        var first = ConsoleRunner.Run([.. Vae, "--shards", "2", "--epochs", "1", "--out", parts]);
        Assert.True(first.Code == 0, first.Err);
        var other = ConsoleRunner.Run(["vae", "train", "--resume", parts, "--epochs", "2", "--shards", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.Equal(2, other.Code);
        Assert.Contains("trained with 2 shards", other.Err, StringComparison.Ordinal);
        // Repeating the recorded shards is allowed; the result is the uninterrupted run's.
        var resumed = ConsoleRunner.Run(["vae", "train", "--resume", parts, "--epochs", "2", "--shards", "2", "--accelerator", "cpu", "--quiet"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        AssertSameTensors(whole, parts);
    }

    [Fact]
    public void AnUnsplitRunRecordsOneShard()
    {
        string dir = Path.Combine(TestPaths.TempDir(), "one");
        var r = ConsoleRunner.Run([.. Vae, "--epochs", "1", "--out", dir]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal("1", SafeTensors.Read(Path.Combine(dir, "model.safetensors")).Metadata["shards"]);
        var other = ConsoleRunner.Run(["vae", "train", "--resume", dir, "--epochs", "2", "--shards", "2", "--accelerator", "cpu", "--quiet"]);
        Assert.Equal(2, other.Code);
        Assert.Contains("trained with 1 shards", other.Err, StringComparison.Ordinal);
    }

    /// <summary>Every float tensor but the history (which holds seconds) and every integer tensor equal to the bit.</summary>
    internal static void AssertSameTensors(string expectedDir, string actualDir)
    {
        var a = SafeTensors.Read(Path.Combine(expectedDir, "model.safetensors"));
        var b = SafeTensors.Read(Path.Combine(actualDir, "model.safetensors"));
        Assert.Equal(a.Tensors.Keys.Order(StringComparer.Ordinal), b.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in a.Tensors)
        {
            if (name == "history")
                continue;
            switch (t.DType)
            {
                case "F32":
                    Assert.True(a.GetFloat(name).AsSpan().SequenceEqual(b.GetFloat(name)), $"{name} differs");
                    break;
                case "F64":
                    Assert.True(a.GetDouble(name).AsSpan().SequenceEqual(b.GetDouble(name)), $"{name} differs");
                    break;
                case "I64":
                    Assert.Equal(a.GetInt64(name), b.GetInt64(name));
                    break;
            }
        }
    }
}
