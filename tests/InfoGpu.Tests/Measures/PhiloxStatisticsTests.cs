using InfoGpu.Kernels;
using InfoGpu.Random;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Measures;

public class PhiloxStatisticsTests
{
    [Fact]
    public void UniformExtremesAreStrictlyInsideTheUnitInterval()
    {
        Assert.Equal(1f / (1 << 24), Philox.ToUniform(0));
        Assert.True(Philox.ToUniform(uint.MaxValue) < 1f);
        Assert.Equal(1f - 1f / (1 << 24), Philox.ToUniform(uint.MaxValue));
    }

    [Fact]
    public void UniformAndNormalMomentsAreWithinStatedBounds()
    {
        // n = 2^20 draws: the standard error of a mean is 0.29/1024 (uniform) and 1/1024
        // (normal); 5 standard errors bound a false failure at about 6e-7.
        const int n = 1 << 20;
        double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0;
        float min = 1, max = 0;
        for (int i = 0; i < n; i++)
        {
            float u = Philox.Uniform(7, 3, (ulong)i);
            min = Math.Min(min, u);
            max = Math.Max(max, u);
            su += u;
            su2 += u * u;
            double z = Philox.Normal(7, 4, (ulong)i);
            sn += z;
            sn2 += z * z;
            sn4 += z * z * z * z;
        }
        double se = 1.0 / Math.Sqrt(n);
        Assert.InRange(su / n, 0.5 - 5 * 0.2887 * se, 0.5 + 5 * 0.2887 * se);
        Assert.InRange(su2 / n - Math.Pow(su / n, 2), 1.0 / 12 - 5 * 0.0745 * se, 1.0 / 12 + 5 * 0.0745 * se);
        Assert.True(min > 0 && max < 1);
        Assert.InRange(sn / n, -5 * se, 5 * se);
        Assert.InRange(sn2 / n, 1 - 5 * Math.Sqrt(2) * se, 1 + 5 * Math.Sqrt(2) * se);
        Assert.InRange(sn4 / n, 3 - 5 * Math.Sqrt(96) * se, 3 + 5 * Math.Sqrt(96) * se);
    }

    [Fact]
    public void StreamsAreIdenticalOnEveryBackendAndOffset()
    {
        const int n = 1001;
        var cpu = TestDevices.Use("cpu", d => Fill(d, n, 0));
        var ilgpu = TestDevices.Use("ilgpu-cpu", d => Fill(d, n, 0));
        Assert.Equal(cpu.Uniform, ilgpu.Uniform);
        Assert.Equal(cpu.Normal, ilgpu.Normal);
        // An offset fill continues the same stream: a launch shape cannot change a draw.
        var shifted = TestDevices.Use("cpu", d => Fill(d, n - 5, 5));
        Assert.Equal(cpu.Uniform.Skip(5), shifted.Uniform);
        Assert.Equal(cpu.Normal.Skip(5), shifted.Normal);
        for (int i = 0; i < n; i++)
            Assert.Equal(Philox.Uniform(99, 2, (ulong)i), cpu.Uniform[i]);
    }

    private static (float[] Uniform, float[] Normal) Fill(InfoGpu.Devices.ComputeDevice device, int n, long offset)
    {
        using var u = device.Allocate<float>(n);
        using var z = device.Allocate<float>(n);
        RandomFill.Uniform(u, 99, 2, offset);
        RandomFill.Normal(z, 99, 3, offset);
        return (u.ToArray(), z.ToArray());
    }
}
