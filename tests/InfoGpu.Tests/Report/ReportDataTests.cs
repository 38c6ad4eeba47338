using System.Buffers.Binary;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Report;

/// <summary><c>infogpu report --data</c>: the folder is read before any work, and a bad one is a one-line error.</summary>
public class ReportDataTests
{
    [Theory]
    [InlineData("missing", "does not exist")]
    [InlineData("empty", "has no train-images-idx3-ubyte")]
    [InlineData("broken", "is not an IDX image file")]
    public void ABadDataFolderFailsBeforeAnyWork(string kind, string mention)
    {
        string root = TestPaths.TempDir();
        string data = Path.Combine(root, "data");
        if (kind != "missing")
            Directory.CreateDirectory(data);
        if (kind == "broken")
        {
            File.WriteAllBytes(Path.Combine(data, "train-images-idx3-ubyte"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
            File.WriteAllBytes(Path.Combine(data, "t10k-images-idx3-ubyte"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
        }
        string out_ = Path.Combine(root, "report");
        var (code, output, err) = ConsoleRunner.Run("report", "--quick", "--data", data, "--out", out_, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(mention, err);
        Assert.False(Directory.Exists(out_), "the report started before its data was checked");
    }

    [Fact]
    public void TheReportTrainsOnTheGivenFolderAndSaysSo()
    {
        // A small IDX folder: the first 300 training and 100 test images of the embedded subset.
        string data = TestPaths.TempDir();
        var subset = FashionMnist.LoadEmbedded(300);
        WriteIdx(Path.Combine(data, FashionMnist.TrainImages), subset.Train);
        WriteIdx(Path.Combine(data, FashionMnist.TestImages), subset.Test.Take(100));
        string out_ = TestPaths.TempDir();
        var (code, _, err) = ConsoleRunner.Run("report", "--quick", "--data", data, "--out", out_, "--accelerator", "cpu", "--quiet");
        Assert.True(code == 0, err);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(out_, "report.json")))!;
        var meta = json["meta"]!;
        Assert.Equal(Path.GetFullPath(data), meta["images"]!.GetValue<string>());
        Assert.Equal(300, meta["images_train"]!.GetValue<int>());
        Assert.Equal(100, meta["images_test"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(meta["version"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(meta["commit"]!.GetValue<string>()));
        Assert.Equal(300, json["rbm"]!["train_images"]!.GetValue<int>());
        Assert.Equal(100, json["rbm"]!["test_images"]!.GetValue<int>());
        Assert.Equal(300, json["vae"]!["train_images"]!.GetValue<int>());
        var checks = json["boltzmann"]!["gradient_checks"]!.AsArray();
        Assert.Equal(2, checks.Count);
        foreach (var c in checks)
        {
            Assert.InRange(c!["gradient_cosine"]!.GetValue<double>(), -1 - 1e-12, 1 + 1e-12);
            Assert.True(c["relative_error"]!.GetValue<double>() >= 0);
        }
        // The chapter's table of gradient estimators: the exact row is the reference itself, the others measured against it.
        var gradients = json["rbm-gradients"]!;
        Assert.Equal(300, gradients["train_images"]!.GetValue<int>());
        var rows = gradients["estimators"]!.AsArray();
        Assert.Equal(["exact gradient", "CD-1", "CD-5", "PCD-1", "long chain (burn-in 100)"], rows.Select(r => r!["method"]!.GetValue<string>()).ToArray());
        Assert.Equal(1, rows[0]!["gradient_cosine"]!.GetValue<double>(), 12);
        foreach (var r in rows)
        {
            Assert.InRange(r!["gradient_cosine"]!.GetValue<double>(), 0, 1 + 1e-12);
            Assert.True(r["seconds_per_update"]!.GetValue<double>() > 0);
            Assert.InRange(r["final_log_likelihood"]!.GetValue<double>(), -196 * Math.Log(2), 0);
        }
        // The bottleneck section shows the VAE section's own sweep, not a second one.
        Assert.Equal(json["vae"]!["beta_sweep"]!.ToJsonString(), json["bottleneck"]!["vae_beta_sweep"]!.ToJsonString());
        Assert.Contains(Path.GetFullPath(data), File.ReadAllText(Path.Combine(out_, "report.html")));
        Assert.Contains("--binarize none", File.ReadAllText(Path.Combine(out_, "report.html")));
        Assert.True(File.Exists(Path.Combine(out_, "boltzmann_tv.png")), "the report has no TV-against-sweeps plot");
        Assert.NotNull(json["boltzmann"]!["gibbs_diagnostics"]!["tv_by_sweep"]);
    }

    private static void WriteIdx(string path, ImageSet set)
    {
        var bytes = new byte[16 + set.Images.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), set.Count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), set.Rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), set.Cols);
        for (int i = 0; i < set.Images.Length; i++)
            bytes[16 + i] = (byte)Math.Round(set.Images[i] * 255);
        File.WriteAllBytes(path, bytes);
    }
}
