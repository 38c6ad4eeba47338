using System.Diagnostics;
using System.Text;
using System.Text.Json;
using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Restricted;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Variational;

namespace InfoGpu.Tests.Interop;

/// <summary>
/// Files other tools read and write: the VAE under PyTorch's examples/vae names and shapes, the
/// RBM in scikit-learn's BernoulliRBM layout, safetensors files without InfoGpu's checksum, and
/// .npy arrays. The PyTorch and scikit-learn checks run the samples/interop scripts the README
/// shows, with Debian's python3-torch and python3-sklearn (skipped, saying so, without them).
/// </summary>
public class InteropTests
{
    /// <summary>Float32 forward passes in PyTorch and InfoGpu on the same weights: a few ulps of the largest value.</summary>
    private const double ForwardTolerance = 2e-5;

    private static readonly string Python = "/usr/bin/python3";

    private static bool Has(string module)
    {
        if (!File.Exists(Python))
            return false;
        var (code, _, _) = RunPython("-c", $"import {module}");
        return code == 0;
    }

    private static (int Code, string Out, string Err) RunPython(params string[] args)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "python3 did not finish within 120 s");
        return (p.ExitCode, output, err.Result);
    }

    private static string Sample(string file) => Path.Combine(TestPaths.RepoRoot, "samples", "interop", file);

    private static float[] Inputs(int rows, int cols, int seed)
    {
        var r = new System.Random(seed);
        var x = new float[rows * cols];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)r.NextDouble();
        return x;
    }

    private static string WriteNpy(string dir, float[] values, int rows, int cols)
    {
        string path = Path.Combine(dir, "x.npy");
        using var f = File.Create(path);
        Npy.Write(f, values, rows, cols);
        return path;
    }

    /// <summary>A safetensors file as another tool writes it: no metadata, no checksum.</summary>
    private static void WriteForeign(string path, params (string Name, float[] Values, long[] Shape)[] tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, values, shape) in tensors)
        {
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + values.Length * 4L } };
            offset += values.Length * 4L;
        }
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)json.Length));
        f.Write(json);
        foreach (var (_, values, _) in tensors)
        {
            foreach (float v in values)
                f.Write(BitConverter.GetBytes(v));
        }
    }

    [Fact]
    public void VaeTensorsHavePyTorchsNamesAndShapesAndTheFusedLayoutStillLoads()
    {
        var vae = Vae.Create(16, 8, 3, 7);
        string dir = TestPaths.TempDir();
        string path = Path.Combine(dir, "vae.safetensors");
        VaeCheckpoint.SaveModel(path, vae);
        var set = SafeTensors.Read(path);
        var expected = new Dictionary<string, long[]>
        {
            ["fc1.weight"] = [8, 16], ["fc1.bias"] = [8], ["fc21.weight"] = [3, 8], ["fc21.bias"] = [3], ["fc22.weight"] = [3, 8], ["fc22.bias"] = [3],
            ["fc3.weight"] = [8, 3], ["fc3.bias"] = [8], ["fc4.weight"] = [16, 8], ["fc4.bias"] = [16],
        };
        Assert.Equal(expected.Keys.Order(), set.Tensors.Keys.Order());
        foreach (var (name, shape) in expected)
            Assert.Equal(shape, set.Tensors[name].Shape);
        // fc21 is the mean head: the first half of the engine's fused head.
        var fused = vae.Tensors.Single(t => t.Name == "fc2.weight").Values;
        Assert.Equal(fused[..24], set.GetFloat("fc21.weight"));
        Assert.Equal(fused[24..], set.GetFloat("fc22.weight"));

        var back = VaeCheckpoint.LoadModel(path);
        for (int t = 0; t < vae.Tensors.Count; t++)
            Assert.Equal(vae.Tensors[t].Values, back.Tensors[t].Values);

        // A file of the earlier layout (one fc2 tensor, fc21 above fc22) reads to the same model.
        var old = new TensorSet();
        foreach (var (k, v) in set.Metadata)
            old.Metadata[k] = v;
        foreach (var t in vae.Tensors)
            old.Add(t.Name, t.Values, t.Cols == 1 ? [t.Rows] : [t.Rows, t.Cols]);
        string oldPath = Path.Combine(dir, "old.safetensors");
        SafeTensors.Write(oldPath, old);
        var fromOld = VaeCheckpoint.LoadModel(oldPath);
        for (int t = 0; t < vae.Tensors.Count; t++)
            Assert.Equal(vae.Tensors[t].Values, fromOld.Tensors[t].Values);
    }

    [SkippableFact]
    public void PyTorchLoadsTheVaeWithLoadStateDictAndComputesTheSameForwardPass()
    {
        Skip.IfNot(Has("torch"), "python3-torch is not installed (apt-get install python3-torch): the PyTorch loading sample is not run");
        var vae = Vae.Create(16, 8, 3, 11);
        string dir = TestPaths.TempDir();
        string model = Path.Combine(dir, "model.safetensors");
        VaeCheckpoint.SaveModel(model, vae);
        const int n = 5;
        var x = Inputs(n, 16, 3);
        var (code, output, err) = RunPython(Sample("load_vae_in_pytorch.py"), model, WriteNpy(dir, x, n, 16));
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var torchMu = doc.RootElement.GetProperty("mu").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var torchRecon = doc.RootElement.GetProperty("reconstruction").EnumerateArray().Select(e => e.GetDouble()).ToArray();

        var (mu, recon) = TestDevices.Use("cpu", d =>
        {
            using var analysis = new VaeAnalysis(d, vae, x);
            return (analysis.Latent().Mu, analysis.Reconstruct(n));
        });
        Assert.Equal(mu.Length, torchMu.Length);
        for (int i = 0; i < mu.Length; i++)
            Assert.True(Math.Abs(mu[i] - torchMu[i]) <= ForwardTolerance, $"mu[{i}]: InfoGpu {mu[i]}, PyTorch {torchMu[i]}");
        Assert.Equal(recon.Length, torchRecon.Length);
        for (int i = 0; i < recon.Length; i++)
            Assert.True(Math.Abs(recon[i] - torchRecon[i]) <= ForwardTolerance, $"reconstruction[{i}]: InfoGpu {recon[i]}, PyTorch {torchRecon[i]}");
    }

    [Fact]
    public void ForeignSafetensorsAreReadUnverifiedAndSaySo()
    {
        var vae = Vae.Create(784, 6, 2, 5);
        var t = vae.Tensors.ToDictionary(x => x.Name, x => x.Values);
        string dir = TestPaths.TempDir();
        string path = Path.Combine(dir, "from_torch.safetensors");
        WriteForeign(path,
            ("fc1.weight", t["fc1.weight"], [6, 784]), ("fc1.bias", t["fc1.bias"], [6]),
            ("fc21.weight", t["fc2.weight"][..12], [2, 6]), ("fc21.bias", t["fc2.bias"][..2], [2]),
            ("fc22.weight", t["fc2.weight"][12..], [2, 6]), ("fc22.bias", t["fc2.bias"][2..], [2]),
            ("fc3.weight", t["fc3.weight"], [6, 2]), ("fc3.bias", t["fc3.bias"], [6]),
            ("fc4.weight", t["fc4.weight"], [784, 6]), ("fc4.bias", t["fc4.bias"], [784]));

        // Training code still demands InfoGpu's own files ...
        var e = Assert.Throws<InfoGpuException>(() => VaeCheckpoint.LoadModel(path));
        Assert.Contains("has no checksum", e.Message, StringComparison.Ordinal);
        // ... evaluation takes the file, unverified, with every tensor where PyTorch puts it.
        var read = VaeCheckpoint.LoadModel(path, out bool verified);
        Assert.False(verified);
        for (int i = 0; i < vae.Tensors.Count; i++)
            Assert.Equal(vae.Tensors[i].Values, read.Tensors[i].Values);

        var (code, output, err) = ConsoleRunner.Run("vae", "eval", "--model", path, "--limit", "50", "--iwae-samples", "2", "--iwae-images", "5", "--mc-samples", "1", "--accelerator", "cpu", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("note: " + path + " has no InfoGpu checksum", err, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(output);
        Assert.False(doc.RootElement.GetProperty("verified").GetBoolean());

        // A shape that disagrees is named.
        string bad = Path.Combine(dir, "bad.safetensors");
        WriteForeign(bad, ("fc1.weight", t["fc1.weight"], [6, 784]), ("fc1.bias", t["fc1.bias"], [6]),
            ("fc21.weight", t["fc2.weight"][..12], [2, 6]), ("fc21.bias", t["fc2.bias"][..2], [2]),
            ("fc22.weight", t["fc2.weight"][..12], [6, 2]), ("fc22.bias", t["fc2.bias"][2..], [2]),
            ("fc3.weight", t["fc3.weight"], [6, 2]), ("fc3.bias", t["fc3.bias"], [6]),
            ("fc4.weight", t["fc4.weight"], [784, 6]), ("fc4.bias", t["fc4.bias"], [784]));
        e = Assert.Throws<InfoGpuException>(() => VaeCheckpoint.LoadModel(bad, out _));
        Assert.Contains("tensor 'fc22.weight' has shape [6, 2], expected [2, 6]", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void RbmExportsToScikitLearnsLayoutAndReadsItBack()
    {
        string run = TestPaths.TempDir();
        var (code, _, err) = ConsoleRunner.Run("rbm", "train", "--limit", "60", "--hidden", "5", "--epochs", "1", "--batch", "20", "--accelerator", "cpu", "--quiet", "--out", run);
        Assert.True(code == 0, err);
        var rbm = RbmCheckpoint.LoadModel(Path.Combine(run, "model.safetensors"));
        string npz = Path.Combine(run, "rbm.npz");
        (code, _, err) = ConsoleRunner.Run("rbm", "export", "--model", run, "--out", npz);
        Assert.True(code == 0, err);
        // Refuses to replace it without --overwrite.
        (code, _, err) = ConsoleRunner.Run("rbm", "export", "--model", run, "--out", npz);
        Assert.Equal(1, code);
        Assert.Contains("pass --overwrite", err, StringComparison.Ordinal);

        // The same model as a safetensors file under scikit-learn's names, as another tool would write it.
        var components = new float[rbm.Weights.Length];
        for (int i = 0; i < rbm.Visible; i++)
        {
            for (int j = 0; j < rbm.Hidden; j++)
                components[j * rbm.Visible + i] = rbm.Weights[i * rbm.Hidden + j];
        }
        string foreign = Path.Combine(run, "sklearn.safetensors");
        WriteForeign(foreign, ("components_", components, [rbm.Hidden, rbm.Visible]), ("intercept_hidden_", rbm.HiddenBias, [rbm.Hidden]), ("intercept_visible_", rbm.VisibleBias, [rbm.Visible]));
        var back = RbmCheckpoint.LoadModel(foreign, out bool verified);
        Assert.False(verified);
        Assert.Equal(rbm.Weights, back.Weights);
        Assert.Equal(rbm.VisibleBias, back.VisibleBias);
        Assert.Equal(rbm.HiddenBias, back.HiddenBias);

        Skip.IfNot(Has("sklearn"), "python3-sklearn is not installed (apt-get install python3-sklearn): the scikit-learn sample is not run");
        const int n = 4;
        var x = Inputs(n, rbm.Visible, 9);
        for (int i = 0; i < x.Length; i++)
            x[i] = x[i] < 0.5f ? 0 : 1;
        string xs = WriteNpy(run, x, n, rbm.Visible);
        (code, string output, err) = RunPython(Sample("rbm_in_sklearn.py"), npz, xs);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var hidden = doc.RootElement.GetProperty("hidden").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(n * rbm.Hidden, hidden.Length);
        for (int r = 0; r < n; r++)
        {
            for (int j = 0; j < rbm.Hidden; j++)
            {
                double a = rbm.HiddenBias[j];
                for (int i = 0; i < rbm.Visible; i++)
                    a += x[r * rbm.Visible + i] * (double)rbm.Weights[i * rbm.Hidden + j];
                double p = 1 / (1 + Math.Exp(-a));
                Assert.True(Math.Abs(p - hidden[r * rbm.Hidden + j]) <= 1e-12, $"row {r}, hidden {j}: {p} (float64 from InfoGpu's W) vs {hidden[r * rbm.Hidden + j]} (scikit-learn)");
            }
        }
    }

    [Fact]
    public void NpyFilesReadAsTablesInEveryLayoutAndBadOnesAreNamed()
    {
        string dir = TestPaths.TempDir();
        string path = Path.Combine(dir, "p.npy");
        using (var f = File.Create(path))
            Npy.Write(f, new double[] { 0.5, 0.5, 0.25, 0.75 }, 2, 2);
        var (code, output, err) = ConsoleRunner.Run("measure", "entropy", "--csv", path, "--base", "2", "--precision", "double", "--json");
        Assert.True(code == 0, err);
        using (var doc = JsonDocument.Parse(output))
        {
            var v = doc.RootElement.GetProperty("values");
            Assert.Equal(1.0, v[0].GetDouble(), 15);
            Assert.Equal(-(0.25 * Math.Log2(0.25) + 0.75 * Math.Log2(0.75)), v[1].GetDouble(), 15);
        }

        // Fortran order, int64 and float32, as numpy writes them (bytes built here by hand).
        static byte[] File16(string descr, bool fortran, string shape, byte[] data)
        {
            string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
            int total = (10 + dict.Length + 1 + 15) / 16 * 16;
            string header = dict + new string(' ', total - 10 - dict.Length - 1) + "\n";
            var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0 };
            bytes.AddRange(Encoding.Latin1.GetBytes(header));
            bytes.AddRange(data);
            return bytes.ToArray();
        }
        var f64 = new[] { 1.0, 4.0, 2.0, 5.0, 3.0, 6.0 }.SelectMany(BitConverter.GetBytes).ToArray(); // [[1,2,3],[4,5,6]] in Fortran order
        var table = Npy.Read(new MemoryStream(File16("<f8", true, "(2, 3)", f64)), "f.npy");
        Assert.Equal(new[] { 1.0, 2.0, 3.0, 4.0, 5.0, 6.0 }, table.Values);
        Assert.Equal(new long[] { 2, 3 }, table.Shape);
        var i64 = new long[] { -3, 7 }.SelectMany(BitConverter.GetBytes).ToArray();
        Assert.Equal(new[] { -3.0, 7.0 }, Npy.Read(new MemoryStream(File16("<i8", false, "(2,)", i64)), "i.npy").Values);

        foreach (var (bytes, mention) in new (byte[], string)[]
        {
            (File16(">f8", false, "(1,)", new byte[8]), "big-endian"),
            (File16("<c16", false, "(1,)", new byte[16]), "not a simple numeric array"),
            (File16("<f8", false, "(1000000000, 1000000000)", []), "values"),
            (File16("<f8", false, "(4,)", new byte[16]), "truncated"),
            (File16("<f8", false, "(2,)", [.. BitConverter.GetBytes(double.NaN), .. BitConverter.GetBytes(1.0)]), "is NaN"),
            ([0x93, (byte)'N', (byte)'U', (byte)'M'], "truncated"),
        })
        {
            string bad = Path.Combine(dir, "bad.npy");
            File.WriteAllBytes(bad, bytes);
            (code, _, err) = ConsoleRunner.Run("measure", "entropy", "--csv", bad, "--precision", "double");
            Assert.True(code == 1, $"{mention}: exit {code}: {err}");
            Assert.Contains(mention, err, StringComparison.Ordinal);
            Assert.Single(err.Trim().Split('\n'));
        }
    }
}
