using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Measures;

/// <summary>
/// The cpu backend's row reductions have a sixteen-lane (AVX-512) and an eight-lane (AVX2) form with
/// different logarithm tables. The test process takes whichever the machine has; this runs the
/// console a second time with AVX-512 switched off in the runtime, so both forms meet the float64
/// references on every machine that has AVX-512.
/// </summary>
public class SimdWidthTests
{
    private const int Rows = 40;
    private const int Cols = 37; // two full AVX-512 vectors and a tail of five; four AVX2 vectors and a tail of five

    [Fact]
    public void EightAndSixteenLaneRowReductionsMeetTheFloat64References()
    {
        string dir = TestPaths.TempDir();
        var (p, q) = Distributions();
        string pCsv = Path.Combine(dir, "p.csv"), qCsv = Path.Combine(dir, "q.csv");
        File.WriteAllText(pCsv, Csv(p));
        File.WriteAllText(qCsv, Csv(q));

        var entropy = new double[Rows];
        var kl = new double[Rows];
        var ce = new double[Rows];
        var js = new double[Rows];
        for (int r = 0; r < Rows; r++)
        {
            for (int j = 0; j < Cols; j++)
            {
                double a = p[r][j], b = q[r][j], m = 0.5 * (a + b);
                if (a > 0)
                {
                    entropy[r] -= a * Math.Log(a);
                    kl[r] += a * Math.Log(a / b);
                    ce[r] -= a * Math.Log(b);
                    js[r] += 0.5 * a * Math.Log(a / m);
                }
                js[r] += 0.5 * b * Math.Log(b / m);
            }
        }

        foreach (bool avx512 in new[] { true, false })
        {
            if (!avx512)
                Assert.Equal(256, SimdBits(avx512));
            Tolerance.AllClose(entropy, Values(avx512, "entropy", "--csv", pCsv), Tolerance.Float32Relative, 1e-7, $"entropy, avx512 {avx512}");
            Tolerance.AllClose(kl, Values(avx512, "kl", "--p-csv", pCsv, "--q-csv", qCsv), Tolerance.Float32Relative, 1e-6, $"KL, avx512 {avx512}");
            Tolerance.AllClose(ce, Values(avx512, "cross-entropy", "--p-csv", pCsv, "--q-csv", qCsv), Tolerance.Float32Relative, 1e-7, $"cross-entropy, avx512 {avx512}");
            Tolerance.AllClose(js, Values(avx512, "js", "--p-csv", pCsv, "--q-csv", qCsv), Tolerance.Float32Relative, 1e-6, $"JS, avx512 {avx512}");
        }
    }

    /// <summary>Rows of every kind the kernels branch on: all normal, with zeros, with subnormals, near one-hot, near q.</summary>
    private static (float[][] P, float[][] Q) Distributions()
    {
        var rng = new System.Random(11);
        var p = new float[Rows][];
        var q = new float[Rows][];
        for (int r = 0; r < Rows; r++)
        {
            var a = new double[Cols];
            var b = new double[Cols];
            for (int j = 0; j < Cols; j++)
            {
                a[j] = Math.Exp(3 * rng.NextDouble() * (r % 3 + 1));
                b[j] = Math.Exp(2 * rng.NextDouble());
            }
            if (r % 4 == 1)
                for (int j = 0; j < Cols; j += 3)
                    a[j] = 0;
            if (r % 8 == 5)
                for (int j = 0; j < Cols; j++)
                    a[j] = j == r % Cols ? 1 : 0;
            if (r % 10 == 7)
                for (int j = 0; j < Cols; j++)
                    b[j] = a[j] * (1 + 1e-3 * rng.NextDouble()) + 1e-9;
            p[r] = Normalize(a);
            q[r] = Normalize(b);
            if (r % 4 == 3)
            {
                p[r][0] += p[r][2] + p[r][Cols - 1]; // keep the sum at 1
                p[r][2] = 1e-40f; // subnormal entries send their vectors down the whole-summand path
                p[r][Cols - 1] = 3e-39f;
            }
        }
        return (p, q);
    }

    private static float[] Normalize(double[] v)
    {
        double s = v.Sum();
        return v.Select(x => (float)(x / s)).ToArray();
    }

    private static string Csv(float[][] rows)
    {
        var sb = new StringBuilder();
        foreach (var row in rows)
            sb.AppendLine(string.Join(",", row.Select(x => x.ToString("R", CultureInfo.InvariantCulture))));
        return sb.ToString();
    }

    private static double[] Values(bool avx512, string measure, params string[] args)
    {
        string output = Run(avx512, ["measure", measure, .. args, "--json", "--accelerator", "cpu"]);
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
    }

    private static int SimdBits(bool avx512)
    {
        using var doc = JsonDocument.Parse(Run(avx512, ["devices", "--json"]));
        return doc.RootElement.GetProperty("devices").EnumerateArray()
            .First(d => d.GetProperty("kind").GetString() == "cpu").GetProperty("simd_width_bits").GetInt32();
    }

    private static string Run(bool avx512, string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "infogpu.dll"));
        foreach (string a in args)
            info.ArgumentList.Add(a);
        if (!avx512)
            info.Environment["DOTNET_EnableAVX512"] = "0"; // the runtime's switch for every AVX-512 subset
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start infogpu");
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"infogpu {string.Join(' ', args)}: exit {process.ExitCode}: {stderr}");
        return stdout.Result;
    }
}
