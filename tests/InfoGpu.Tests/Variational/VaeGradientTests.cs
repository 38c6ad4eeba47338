using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Variational;

namespace InfoGpu.Tests.Variational;

/// <summary>The whole VAE's gradient (GEMM backward passes, ReLU masks, reparameterization, KL) against central finite differences of a float64 loss.</summary>
public class VaeGradientTests
{
    private const int D = 7, H = 5, L = 3, Rows = 4;
    private const double Beta = 0.7;

    /// <summary>float64 sum over rows of BCE(x, sigmoid(decoder(mu + sigma eps))) + beta KL, the parameters in Vae.Tensors order.</summary>
    private static double Loss(double[][] p, float[] x, float[] eps)
    {
        double total = 0;
        for (int r = 0; r < Rows; r++)
        {
            var h1 = new double[H];
            for (int i = 0; i < H; i++)
            {
                double s = p[1][i];
                for (int k = 0; k < D; k++)
                    s += p[0][i * D + k] * x[r * D + k];
                h1[i] = Math.Max(s, 0);
            }
            var st = new double[2 * L];
            for (int i = 0; i < 2 * L; i++)
            {
                double s = p[3][i];
                for (int k = 0; k < H; k++)
                    s += p[2][i * H + k] * h1[k];
                st[i] = s;
            }
            var z = new double[L];
            for (int j = 0; j < L; j++)
            {
                z[j] = st[j] + Math.Exp(0.5 * st[L + j]) * eps[r * L + j];
                total += Beta * -0.5 * (1 + st[L + j] - st[j] * st[j] - Math.Exp(st[L + j]));
            }
            var h3 = new double[H];
            for (int i = 0; i < H; i++)
            {
                double s = p[5][i];
                for (int k = 0; k < L; k++)
                    s += p[4][i * L + k] * z[k];
                h3[i] = Math.Max(s, 0);
            }
            for (int i = 0; i < D; i++)
            {
                double l = p[7][i];
                for (int k = 0; k < H; k++)
                    l += p[6][i * H + k] * h3[k];
                total += ScalarMath.Softplus(l) - x[r * D + i] * l;
            }
        }
        return total;
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void GradientsMatchCentralDifferencesInFloat64(string kind)
    {
        var vae = Vae.Create(D, H, L, 3);
        // Larger biases keep the ReLUs away from their kinks, where differences are meaningless.
        foreach (int t in new[] { 1, 5 })
        {
            for (int i = 0; i < vae.Tensors[t].Values.Length; i++)
                vae.Tensors[t].Values[i] += 0.3f;
        }
        var x = Enumerable.Range(0, Rows * D).Select(i => Philox.Uniform(4, 1, (ulong)i)).ToArray();
        var (grads, eps) = TestDevices.Use(kind, d =>
        {
            using var net = new VaeNetwork(d, vae, Rows, training: true);
            net.X.CopyFrom(x);
            net.Encode(Rows);
            net.Sample(Rows, 1, 5, 21, 0);
            net.Decode(Rows);
            net.Loss(Rows, net.X, 1, gradient: true);
            net.ComputeKl(Rows);
            net.Backward(Rows, (float)Beta);
            return (net.Gradients.Select(g => g.ToArray()).ToArray(), net.Eps.ToArray().AsSpan(0, Rows * L).ToArray());
        });
        var p = vae.Tensors.Select(t => t.Values.Select(v => (double)v).ToArray()).ToArray();
        const double h = 1e-6;
        for (int t = 0; t < p.Length; t++)
        {
            var expected = new double[p[t].Length];
            for (int i = 0; i < p[t].Length; i++)
            {
                double keep = p[t][i];
                p[t][i] = keep + h;
                double up = Loss(p, x, eps);
                p[t][i] = keep - h;
                double down = Loss(p, x, eps);
                p[t][i] = keep;
                expected[i] = (up - down) / (2 * h);
            }
            // float32 forward and backward over a handful of terms against float64 differences (error ~1e-9/h).
            Tolerance.AllClose(expected, grads[t].Select(v => (double)v).ToArray(), 1e-3, 1e-4, $"gradient of {vae.Tensors[t].Name} on {kind}");
        }
    }
}
