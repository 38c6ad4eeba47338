using InfoGpu.Boltzmann;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Boltzmann;

public class BoltzmannGradientTests
{
    private static float[] RandomRows(int rows, int nv, ulong seed)
    {
        var x = new float[rows * nv];
        for (int k = 0; k < x.Length; k++)
            x[k] = Philox.Uniform(seed, 4, (ulong)k) < 0.5f ? 1f : 0f;
        return x;
    }

    [Fact]
    public void ExactBoltzmannGradientMatchesFiniteDifferencesWithHiddenUnitsMarginalised()
    {
        var m = new BoltzmannMachine(3, 2);
        m.InitializeRandom(7, 0.9);
        for (int i = 0; i < m.Units; i++)
            m.Biases[i] = 0.4 * Philox.Normal(7, 9, (ulong)i);
        var data = RandomRows(6, 3, 13);
        var (gw, gb) = BoltzmannExact.LogLikelihoodGradient(m, data);
        const double step = 1e-5;
        var expected = new List<double>();
        var actual = new List<double>();
        for (int i = 0; i < m.Units; i++)
        {
            for (int j = i + 1; j < m.Units; j++)
            {
                double x = m.Weight(i, j);
                m.SetWeight(i, j, x + step);
                double up = BoltzmannExact.LogLikelihood(m, data);
                m.SetWeight(i, j, x - step);
                double down = BoltzmannExact.LogLikelihood(m, data);
                m.SetWeight(i, j, x);
                expected.Add((up - down) / (2 * step));
                actual.Add(gw[i * m.Units + j]);
                Assert.Equal(gw[i * m.Units + j], gw[j * m.Units + i]);
            }
            Assert.Equal(0, gw[i * m.Units + i]);
            double a = m.Biases[i];
            m.Biases[i] = a + step;
            double bu = BoltzmannExact.LogLikelihood(m, data);
            m.Biases[i] = a - step;
            double bd = BoltzmannExact.LogLikelihood(m, data);
            m.Biases[i] = a;
            expected.Add((bu - bd) / (2 * step));
            actual.Add(gb[i]);
        }
        // Step 1e-5 in float64: truncation about 1e-11, rounding about 1e-16 / 1e-5 = 1e-11.
        Tolerance.AllClose(expected, actual, 0, 1e-8, "exact Boltzmann-machine gradient against finite differences");
    }

    [Fact]
    public void LongGibbsChainsGiveTheExactModelStatistics()
    {
        var m = new BoltzmannMachine(3, 2);
        m.InitializeRandom(3, 1.2);
        for (int i = 0; i < m.Units; i++)
            m.Biases[i] = 0.5 * Philox.Normal(3, 9, (ulong)i);
        var (pairs, means) = BoltzmannExact.ModelStatistics(m);
        const int chains = 20_000;
        var states = TestDevices.Use("cpu", d => BoltzmannTrainer.Sample(d, m, chains, burnIn: 50, seed: 8));
        int n = m.Units;
        var sampled = new double[n * n];
        for (int c = 0; c < chains; c++)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                    sampled[i * n + j] += states[c * n + i] * states[c * n + j] / (double)chains;
            }
        }
        // Each entry is a mean of 20,000 independent 0/1 values: standard error at most
        // sqrt(0.25 / 20000) = 0.0035; 0.02 is more than 5 standard errors.
        Tolerance.AllClose(pairs, sampled, 0, 0.02, "E[s_i s_j] from long chains against enumeration");
        for (int i = 0; i < n; i++)
            Tolerance.Close(means[i], pairs[i * n + i], 0, 1e-12, $"E[s_{i}] is the diagonal of E[s s^T]");
    }
}
