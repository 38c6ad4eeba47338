using System.Diagnostics;
using System.Text.Json.Nodes;
using InfoGpu.Checkpoints;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Reliability;

/// <summary>
/// Runs and files a careless or hostile user makes: settings changed on resume, other data on
/// resume, unusable output folders, endless or crafted checkpoint files, models with NaN or an
/// asymmetric W. Each gets a one-line error (exit 1, usage errors 2) before any training.
/// </summary>
public class HostileRunTests
{
    private static readonly string[] SmallRbm = ["rbm", "train", "--limit", "120", "--hidden", "6", "--batch", "40", "--epochs", "1", "--sample-steps", "1", "--accelerator", "cpu", "--quiet"];

    private static string OneLine(string err)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}: {err}");
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        return lines[0];
    }

    [Theory]
    [InlineData("rbm", "--hidden", "8")]
    [InlineData("rbm", "--seed", "3")]
    [InlineData("rbm", "--sampler", "pcd")]
    [InlineData("vae", "--beta", "4")]
    [InlineData("bm", "--size", "2")]
    public void SettingsCannotChangeOnResume(string model, string flag, string value)
    {
        string dir = TestPaths.TempDir();
        string[] first = model switch
        {
            "rbm" => [.. SmallRbm, "--out", dir],
            "vae" => ["vae", "train", "--limit", "100", "--hidden", "8", "--latent", "2", "--batch", "50", "--epochs", "1", "--accelerator", "cpu", "--quiet", "--out", dir],
            _ => ["bm", "train", "--size", "3", "--hidden", "1", "--epochs", "2", "--chains", "20", "--accelerator", "cpu", "--quiet", "--out", dir],
        };
        Assert.Equal(0, ConsoleRunner.Run(first).Code);
        var (code, _, err) = ConsoleRunner.Run(model, "train", "--resume", dir, flag, value, "--epochs", "3", "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Contains($"{flag} cannot change on --resume", OneLine(err), StringComparison.Ordinal);
    }

    [Fact]
    public void ALowerLearningRateOnResumeIsAppliedAndRecorded()
    {
        string dir = TestPaths.TempDir();
        Assert.Equal(0, ConsoleRunner.Run([.. SmallRbm, "--out", dir]).Code);
        var (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--lr", "0.01", "--epochs", "2", "--sample-steps", "1", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        Assert.Contains("learning rate 0.05 -> 0.01", err, StringComparison.Ordinal);
        var config = JsonNode.Parse(SafeTensors.Read(Path.Combine(dir, "model.safetensors")).GetMetadata("config"))!;
        Assert.Equal(0.01, config["learning_rate"]!.GetValue<double>());
    }

    [Fact]
    public void ResumeOnOtherDataIsRefused()
    {
        string dir = TestPaths.TempDir();
        Assert.Equal(0, ConsoleRunner.Run([.. SmallRbm, "--out", dir]).Code);
        var (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--limit", "80", "--epochs", "2", "--accelerator", "cpu", "--quiet");
        Assert.Equal(1, code);
        Assert.Contains("was trained on 120 images, not 80", OneLine(err), StringComparison.Ordinal);
    }

    [Fact]
    public void ResumeOnOtherImagesOfTheSameCountIsRefused()
    {
        var ds = InfoGpu.Data.FashionMnist.LoadEmbedded(200);
        var a = ds.Train.Take(100).Binarized().Images;
        var b = ds.Train.Images.AsSpan(100 * 784, 100 * 784).ToArray().Select(v => v > 0.5f ? 1f : 0f).ToArray();
        var e = TestDevices.Use("cpu", d =>
        {
            using var t = new InfoGpu.Restricted.RbmTrainer(d, InfoGpu.Restricted.Rbm.Initialize(784, 4, 1), a, a, new InfoGpu.Restricted.RbmTrainerOptions { BatchSize = 50, AllBitsRows = 0 });
            t.TrainStep();
            var state = t.SaveState();
            using (InfoGpu.Restricted.RbmTrainer.Resume(d, state, a, a))
            {
                // the same images resume
            }
            return Assert.Throws<InfoGpuException>(() => InfoGpu.Restricted.RbmTrainer.Resume(d, state, b, a));
        });
        Assert.Contains("was trained on other images", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnusableOutputFoldersAreRefusedBeforeTraining()
    {
        string file = Path.Combine(TestPaths.TempDir(), "a-file");
        File.WriteAllText(file, "x");
        var (code, _, err) = ConsoleRunner.Run([.. SmallRbm, "--out", file]);
        Assert.Equal(1, code);
        Assert.Contains("is a file, not a folder", OneLine(err), StringComparison.Ordinal);
        (code, _, err) = ConsoleRunner.Run([.. SmallRbm, "--out", ""]);
        Assert.Equal(2, code);
        Assert.Contains("--out needs a value (DIR), not an empty string", OneLine(err), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows() && Environment.UserName != "root")
        {
            string locked = TestPaths.TempDir();
            File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            (code, _, err) = ConsoleRunner.Run([.. SmallRbm, "--out", locked]);
            Assert.Equal(1, code);
            Assert.Contains("cannot write to the output folder", OneLine(err), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EndlessAndHugeFilesAreNotReadWhole()
    {
        // /dev/zero never ends: the 8-byte header length (0) is refused at once.
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<InfoGpuException>(() => SafeTensors.Read("/dev/zero"));
        Assert.Contains("not a safetensors file", e.Message, StringComparison.Ordinal);
        // A sparse 3 GB file whose header declares 3 GB of tensors is refused from its header.
        string sparse = Path.Combine(TestPaths.TempDir(), "model.safetensors");
        using (var f = new FileStream(sparse, FileMode.Create))
        {
            var header = System.Text.Encoding.UTF8.GetBytes("{\"W\":{\"dtype\":\"F32\",\"shape\":[750000000],\"data_offsets\":[0,3000000000]}}");
            f.Write(BitConverter.GetBytes((ulong)header.Length));
            f.Write(header);
            f.SetLength(3_000_000_000L + 8 + header.Length);
        }
        e = Assert.Throws<InfoGpuException>(() => SafeTensors.Read(sparse));
        Assert.Contains("at most", e.Message, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        var (code, _, err) = ConsoleRunner.Run("bm", "sample", "--model", "/dev/zero", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("larger than", OneLine(err), StringComparison.Ordinal);
    }

    [Fact]
    public void ModelsWithNonFiniteOrAsymmetricWeightsAreNamed()
    {
        // An RBM checkpoint with a NaN in W (the checksum recomputed, as a crafted file would be).
        string dir = TestPaths.TempDir();
        Assert.Equal(0, ConsoleRunner.Run([.. SmallRbm, "--out", dir]).Code);
        string model = Path.Combine(dir, "model.safetensors");
        var set = SafeTensors.Read(model);
        var w = set.GetFloat("W");
        w[7] = float.NaN;
        set.Add("W", w, 784, 6);
        SafeTensors.Write(model, set);
        var (code, _, err) = ConsoleRunner.Run("rbm", "eval", "--model", model, "--limit", "120", "--ais-runs", "2", "--ais-betas", "3", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("tensor 'W' holds NaN at index 7", OneLine(err), StringComparison.Ordinal);

        string bm = Path.Combine(TestPaths.TempDir(), "bm.json");
        File.WriteAllText(bm, "{\"visible\":2,\"hidden\":0,\"weights\":[0,1e400,1e400,0],\"biases\":[0,0]}");
        (code, _, err) = ConsoleRunner.Run("bm", "sample", "--model", bm, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("must be finite", OneLine(err), StringComparison.Ordinal);
        File.WriteAllText(bm, "{\"visible\":2,\"hidden\":0,\"weights\":[0,1,2,0],\"biases\":[0,0]}");
        (code, _, err) = ConsoleRunner.Run("bm", "sample", "--model", bm, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("W must be symmetric", OneLine(err), StringComparison.Ordinal);
        File.WriteAllText(bm, "{\"visible\":50000,\"hidden\":0,\"weights\":[],\"biases\":[]}");
        (code, _, err) = ConsoleRunner.Run("bm", "sample", "--model", bm, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("too large", OneLine(err), StringComparison.Ordinal);
    }

    [Fact]
    public void CraftedVaeConfigsAreRefusedBeforeAllocation()
    {
        string dir = TestPaths.TempDir();
        Assert.Equal(0, ConsoleRunner.Run("vae", "train", "--limit", "100", "--hidden", "8", "--latent", "2", "--batch", "50", "--epochs", "1", "--accelerator", "cpu", "--quiet", "--out", dir).Code);
        string model = Path.Combine(dir, "model.safetensors");
        var set = SafeTensors.Read(model);
        foreach (var (key, value) in new[] { ("hidden", "1000000000"), ("hidden", "2147483647"), ("input", "2147483647") })
        {
            var config = JsonNode.Parse(set.GetMetadata("config"))!;
            config[key] = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
            var crafted = SafeTensors.Read(model);
            crafted.Metadata["config"] = config.ToJsonString();
            string path = Path.Combine(TestPaths.TempDir(), "model.safetensors");
            SafeTensors.Write(path, crafted);
            var (code, _, err) = ConsoleRunner.Run("vae", "eval", "--model", path, "--limit", "100", "--accelerator", "cpu");
            Assert.True(code == 1, $"{key} = {value}: exit {code}: {err}");
            Assert.Contains("values, expected", OneLine(err), StringComparison.Ordinal);
        }
    }
}

/// <summary>MI selection does not depend on a column's units: the same data at 1e-300 .. 1e300 scores the same.</summary>
public class MutualInformationScaleTests
{
    [Theory]
    [InlineData(1e160)]
    [InlineData(1e300)]
    [InlineData(1e-160)]
    [InlineData(1e-300)]
    public void ScoresAtExtremeScalesEqualTheUnscaledOnes(double scale)
    {
        // Feature 0 determines the class (MI = ln 2 in the limit); feature 1 is noise.
        const int n = 400;
        var x = new double[n * 2];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 2;
            x[2 * i] = y[i] + 0.1 * InfoGpu.Kernels.Philox.Uniform(3, 1, (ulong)i);
            x[2 * i + 1] = InfoGpu.Kernels.Philox.Uniform(3, 2, (ulong)i);
        }
        var scaled = x.Select(v => v * scale).ToArray();
        var (plain, big) = TestDevices.Use("cpu", d =>
        {
            var s = new InfoGpu.Selection.MutualInformationSelector(d);
            return (s.Select(x, n, 2, y).Scores, s.Select(scaled, n, 2, y).Scores);
        });
        Assert.True(plain[0] > 0.6, $"the informative feature scores {plain[0]}");
        for (int f = 0; f < 2; f++)
            Assert.True(Math.Abs(big[f] - plain[f]) <= 1e-9, $"feature {f} at scale {scale}: {big[f]} vs {plain[f]} unscaled");
    }
}

/// <summary>An IDX folder whose test file holds no images: training refuses instead of monitoring on the training images.</summary>
public class EmptyTestSetTests
{
    private static byte[] Idx(int count)
    {
        var b = new byte[16 + count * 28 * 28];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b, 0x803);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), 28);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), 28);
        for (int i = 16; i < b.Length; i++)
            b[i] = (byte)(i * 31 % 256);
        return b;
    }

    [Theory]
    [InlineData("rbm")]
    [InlineData("vae")]
    public void TrainingOnDataWithoutTestImagesIsRefused(string model)
    {
        string data = TestPaths.TempDir();
        File.WriteAllBytes(Path.Combine(data, "train-images-idx3-ubyte"), Idx(20));
        File.WriteAllBytes(Path.Combine(data, "t10k-images-idx3-ubyte"), Idx(0));
        var (code, _, err) = ConsoleRunner.Run(model, "train", "--data", data, "--epochs", "1", "--hidden", "4", "--accelerator", "cpu", "--quiet", "--out", TestPaths.TempDir());
        Assert.True(code == 1, $"exit {code}: {err}");
        Assert.Contains("no test images", err, StringComparison.Ordinal);
    }
}

/// <summary>A small gzip IDX file that truly holds more pixels than the process may hold in memory is refused before it is read.</summary>
public class IdxMemoryTests
{
    private static void WriteGzipIdx(string path, int magic, int count, int rows, int cols, long payloadBytes)
    {
        using var file = File.Create(path);
        using var gz = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest);
        var header = new byte[magic == 0x801 ? 8 : 16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, magic);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        if (magic == 0x803)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), rows);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), cols);
        }
        gz.Write(header);
        var zeros = new byte[1 << 20];
        for (long left = payloadBytes; left > 0; left -= zeros.Length)
            gz.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
    }

    private static (int Code, string Err) RunCapped(string heapLimitHex, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "infogpu.dll"));
        foreach (string a in args)
            info.ArgumentList.Add(a);
        info.Environment["DOTNET_GCHeapHardLimit"] = heapLimitHex;
        using var p = System.Diagnostics.Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "infogpu did not finish within 120 s");
        return (p.ExitCode, err.Result);
    }

    [Fact]
    public void ImagesThatCannotFitAreRefusedBeforeReadingAndLimitLoadsThem()
    {
        // 60,000 images of 28x28 (47 MB of pixels, 235 MB as float32 plus bytes) in a gzip file of
        // about 50 KB; the process may use 192 MB.
        string data = TestPaths.TempDir();
        const int n = 60000, px = 28 * 28;
        WriteGzipIdx(Path.Combine(data, "train-images-idx3-ubyte.gz"), 0x803, n, 28, 28, (long)n * px);
        WriteGzipIdx(Path.Combine(data, "train-labels-idx1-ubyte.gz"), 0x801, n, 0, 0, n);
        WriteGzipIdx(Path.Combine(data, "t10k-images-idx3-ubyte.gz"), 0x803, 100, 28, 28, 100L * px);
        WriteGzipIdx(Path.Combine(data, "t10k-labels-idx1-ubyte.gz"), 0x801, 100, 0, 0, 100);
        Assert.True(new FileInfo(Path.Combine(data, "train-images-idx3-ubyte.gz")).Length < 1 << 20);

        const string limit = "0xC000000"; // 192 MiB
        var (code, err) = RunCapped(limit, "rbm", "train", "--data", data, "--epochs", "1", "--hidden", "4", "--accelerator", "cpu", "--quiet", "--out", TestPaths.TempDir());
        Assert.True(code == 1, $"exit {code}: {err}");
        string line = Assert.Single(err.Trim().Split('\n'));
        Assert.Matches(@"^error: .*train-images-idx3-ubyte\.gz: 60000 images of 28x28 need 0\.2 GB of memory, more than the 0\.\d GB this process may use; load fewer \(--limit \d+ or less\)$", line);

        var (ok, okErr) = RunCapped(limit, "rbm", "train", "--data", data, "--limit", "1000", "--epochs", "1", "--hidden", "4", "--accelerator", "cpu", "--quiet", "--out", TestPaths.TempDir());
        Assert.True(ok == 0, $"exit {ok}: {okErr}");
    }
}
