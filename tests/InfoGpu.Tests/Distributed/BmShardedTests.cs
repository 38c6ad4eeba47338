using InfoGpu.Boltzmann;
using InfoGpu.Checkpoints;
using InfoGpu.Distributed;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Distributed;

/// <summary>
/// Data-parallel Boltzmann-machine learning in one process. Every chain draws what it draws
/// unsplit, and the pair statistics of binary states are whole counts (exact in float32 and
/// float64), so splitting the chains over shards must give the unsplit run's bits exactly.
/// </summary>
public class BmShardedTests
{
    private static readonly string[] Bm =
        ["bm", "train", "--size", "2", "--hidden", "2", "--batch", "3", "--burn-in", "2", "--samples", "3", "--chains", "7", "--seed", "5", "--accelerator", "cpu", "--quiet"];

    private static readonly string[] State = ["W", "a", "chains", "counters"];

    [Theory]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(7, true)]
    public void ShardedTrainingEqualsTheUnsplitRunBitForBit(int shards, bool fresh)
    {
        string root = TestPaths.TempDir();
        string one = Path.Combine(root, "one"), split = Path.Combine(root, "split");
        string[] args = fresh ? [.. Bm, "--fresh", "--epochs", "3"] : [.. Bm, "--epochs", "3"];
        var a = ConsoleRunner.Run([.. args, "--out", one]);
        Assert.True(a.Code == 0, a.Err);
        var b = ConsoleRunner.Run([.. args, "--shards", shards.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", split]);
        Assert.True(b.Code == 0, b.Err);
        AssertSameState(one, split, fresh ? State.Where(n => n != "chains").ToArray() : State);
        Assert.Equal(shards.ToString(System.Globalization.CultureInfo.InvariantCulture), SafeTensors.Read(Path.Combine(split, "model.safetensors")).Metadata["shards"]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void TheTrainerSplitsEveryPhaseAndStillLearnsTheSameMachine(string kind)
    {
        // Engine level: 6 positive chains per batch of 2 rows split 4 ways (a share may be empty).
        var data = BarsAndStripes.Generate(2);
        var o = new BoltzmannTrainingOptions { BatchSize = 2, PositiveChains = 3, NegativeChains = 9, BurnIn = 1, Samples = 2, Seed = 8, Epochs = 2 };
        double[] Train(DataParallel? p) => TestDevices.Use<double[]>(kind, d =>
        {
            var m = new BoltzmannMachine(4, 3);
            m.InitializeRandom(3, 0.5);
            using var t = new BoltzmannTrainer(d, m, data, o, p);
            for (int e = 0; e < 2; e++)
            {
                for (int s = 0; s < t.StepsPerEpoch; s++)
                    t.TrainStep();
                t.EndEpoch();
            }
            return [.. m.Weights, .. m.Biases];
        });
        var whole = Train(null);
        var split = Train(new DataParallel(Cluster.Single, 4));
        Assert.Equal(whole.Select(BitConverter.DoubleToInt64Bits), split.Select(BitConverter.DoubleToInt64Bits));
        Assert.Contains(whole, w => w != 0);
    }

    [Fact]
    public void FewerNegativeChainsThanShardsIsAClearError()
    {
        var r = ConsoleRunner.Run([.. Bm, "--epochs", "1", "--shards", "8"]);
        Assert.Equal(1, r.Code);
        Assert.StartsWith("error: Boltzmann training: 7 negative chains cannot be split into 8 shards; give --chains >= 8", r.Err.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public void AResumedRunKeepsItsShardsBitForBit()
    {
        string root = TestPaths.TempDir();
        string whole = Path.Combine(root, "whole"), parts = Path.Combine(root, "parts");
        var straight = ConsoleRunner.Run([.. Bm, "--shards", "3", "--epochs", "4", "--out", whole]);
        Assert.True(straight.Code == 0, straight.Err);
        // 6 patterns in batches of 3: 2 updates per epoch; the run stops after 2 epochs and resumes.
        var first = ConsoleRunner.Run([.. Bm, "--shards", "3", "--epochs", "2", "--out", parts]);
        Assert.True(first.Code == 0, first.Err);
        var other = ConsoleRunner.Run(["bm", "train", "--resume", parts, "--epochs", "4", "--shards", "2", "--accelerator", "cpu", "--quiet"]);
        Assert.Equal(2, other.Code);
        Assert.Contains("trained with 3 shards", other.Err, StringComparison.Ordinal);
        var resumed = ConsoleRunner.Run(["bm", "train", "--resume", parts, "--epochs", "4", "--accelerator", "cpu", "--quiet"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        AssertSameState(whole, parts, State);
    }

    internal static void AssertSameState(string expectedDir, string actualDir, string[] names)
    {
        var a = SafeTensors.Read(Path.Combine(expectedDir, "model.safetensors"));
        var b = SafeTensors.Read(Path.Combine(actualDir, "model.safetensors"));
        foreach (string name in names)
        {
            switch (a.Tensors[name].DType)
            {
                case "F64":
                    Assert.True(a.GetDouble(name).AsSpan().SequenceEqual(b.GetDouble(name)), $"{name} differs");
                    break;
                case "F32":
                    Assert.True(a.GetFloat(name).AsSpan().SequenceEqual(b.GetFloat(name)), $"{name} differs");
                    break;
                default:
                    Assert.Equal(a.GetInt64(name), b.GetInt64(name));
                    break;
            }
        }
    }
}
