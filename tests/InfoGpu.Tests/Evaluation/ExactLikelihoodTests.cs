using InfoGpu.Evaluation;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Evaluation;

public class ExactLikelihoodTests
{
    internal static (float[] W, float[] B, float[] C) RandomRbm(int nv, int nh, ulong seed, float scale)
    {
        var w = Enumerable.Range(0, nv * nh).Select(k => scale * Philox.Normal(seed, 1, (ulong)k)).ToArray();
        var b = Enumerable.Range(0, nv).Select(k => 0.5f * Philox.Normal(seed, 2, (ulong)k)).ToArray();
        var c = Enumerable.Range(0, nh).Select(k => 0.5f * Philox.Normal(seed, 3, (ulong)k)).ToArray();
        return (w, b, c);
    }

    /// <summary>Brute force over every (v, h) pair in float64: the independent reference.</summary>
    private static double BruteLogZ(float[] w, float[] b, float[] c)
    {
        int nv = b.Length, nh = c.Length;
        var terms = new List<double>();
        for (int v = 0; v < 1 << nv; v++)
        {
            for (int h = 0; h < 1 << nh; h++)
            {
                double e = 0;
                for (int i = 0; i < nv; i++)
                {
                    if (((v >> i) & 1) == 0)
                        continue;
                    e += b[i];
                    for (int j = 0; j < nh; j++)
                        e += ((h >> j) & 1) * (double)w[i * nh + j];
                }
                for (int j = 0; j < nh; j++)
                    e += ((h >> j) & 1) * (double)c[j];
                terms.Add(e);
            }
        }
        return InfoGpu.Measures.InformationMeasures64.LogSumExp(terms.ToArray());
    }

    /// <summary>Float64 on the host versus a brute-force sum; the ILGPU path evaluates each configuration in float32.</summary>
    private const double HostRelative = 1e-12;

    private const double DeviceRelative = 1e-5;

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void HiddenAndVisibleEnumerationAgreeWithBruteForce(string kind)
    {
        var (w, b, c) = RandomRbm(10, 8, 4, 0.8f);
        double brute = BruteLogZ(w, b, c);
        double tol = kind == "cpu" ? HostRelative : DeviceRelative;
        TestDevices.Use(kind, d =>
        {
            Tolerance.Close(brute, RbmExactLikelihood.LogPartitionByHidden(d, w, b, c), tol, 0, $"{kind} hidden enumeration");
            Tolerance.Close(brute, RbmExactLikelihood.LogPartitionByVisible(d, w, b, c), tol, 0, $"{kind} visible enumeration");
            return 0;
        });
    }

    /// <summary>
    /// The device's log-sum-exp (float32 values and per-group sums, pairs added in float64) at
    /// every tested group size: 2^8 and 2^10 configurations of the small model, and 2^14 in
    /// launches of at most 1000 configurations (several launches, the last partial), against
    /// brute force within <see cref="DeviceRelative"/>.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestDevices.GroupSizes), MemberType = typeof(TestDevices))]
    public void DeviceLogSumExpMatchesBruteForceAtEveryGroupSize(int groupSize)
    {
        var (w, b, c) = RandomRbm(10, 8, 4, 0.8f);
        var (w14, b14, c14) = RandomRbm(3, 14, 6, 0.5f);
        double brute = BruteLogZ(w, b, c), brute14 = BruteLogZ(w14, b14, c14);
        TestDevices.UseSimulatedGpu(groupSize, d =>
        {
            var backend = (InfoGpu.Devices.IlgpuBackend)d.Backend;
            Tolerance.Close(brute, RbmExactLikelihood.LogPartitionByHidden(d, w, b, c), DeviceRelative, 0, $"group size {groupSize}: hidden enumeration");
            Tolerance.Close(brute, RbmExactLikelihood.LogPartitionByVisible(d, w, b, c), DeviceRelative, 0, $"group size {groupSize}: visible enumeration");
            long saved = backend.EnumerationConfigurationsPerLaunch;
            backend.EnumerationConfigurationsPerLaunch = 1000;
            try
            {
                Tolerance.Close(brute14, RbmExactLikelihood.LogPartitionByHidden(d, w14, b14, c14), DeviceRelative, 0, $"group size {groupSize}: 2^14 configurations in several launches");
            }
            finally
            {
                backend.EnumerationConfigurationsPerLaunch = saved;
            }
            return 0;
        });
    }

    [Fact]
    public void ChunkedGrayCodeMatchesBruteForceAboveOneChunk()
    {
        // 14 hidden units: more than one 2^12 chunk, so the chunk combination is exercised.
        var (w, b, c) = RandomRbm(3, 14, 6, 0.5f);
        double brute = BruteLogZ(w, b, c);
        Tolerance.Close(brute, RbmExactLikelihood.LogPartitionByHidden(TestDevices.Get("cpu"), w, b, c), HostRelative, 0, "hidden enumeration");
        Tolerance.Close(brute, RbmExactLikelihood.LogPartitionByVisible(TestDevices.Get("cpu"), w, b, c), HostRelative, 0, "visible enumeration");
    }

    [Fact]
    public void TooLargeLayersAreRefused()
    {
        var e = Assert.Throws<InfoGpuException>(() => RbmExactLikelihood.LogPartitionByHidden(TestDevices.Get("cpu"), new float[30], new float[1], new float[30]));
        Assert.Contains("AIS", e.Message);
    }
}
