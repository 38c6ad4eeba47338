using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Measures;

/// <summary>
/// The measures on device buffers: the same bits as the span overloads on the same backend, and
/// close to a float64 reference; what they check on the host and what they do not.
/// </summary>
public class DeviceMeasuresTests
{
    /// <summary>Float32 sums of up to a few hundred terms with float32 log rounding, against float64 (as in <see cref="RowReductionTests"/>).</summary>
    private const double Float32VsFloat64Relative = 2e-5;

    /// <summary>Absolute slack for results near zero (KL and JS of nearly equal rows).</summary>
    private const double Float32VsFloat64Absolute = 2e-6;

    private static readonly DistributionOptions Loose = new(false, 1e-4);

    public static TheoryData<string, int, int> Shapes()
    {
        var data = new TheoryData<string, int, int>();
        foreach (string kind in new[] { "cpu", "ilgpu-cpu" })
        {
            data.Add(kind, 5, 1);
            data.Add(kind, 7, 17);
            data.Add(kind, 3, 257);
        }
        data.Add("cpu", 33, 1031);
        return data;
    }

    private sealed record Case(string Name, float[] Span, float[] Device, Func<double[], double[], double> Reference);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void DeviceOverloadsMatchTheSpanOverloadsBitForBitAndFloat64(string kind, int rows, int cols)
    {
        var p = RowReductionTests.Distributions(rows, cols, 21, zeros: true);
        var q = RowReductionTests.Distributions(rows, cols, 22, zeros: false);
        var cases = TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            // Buffers longer than the rows, and a destination with room to spare: only the
            // first rows are read and written.
            using var dp = d.Allocate<float>(p.Length + 3);
            using var dq = d.Allocate<float>(q.Length + 5);
            using var dr = d.Allocate<float>(rows + 2);
            dp.CopyFrom(p);
            dq.CopyFrom(q);
            dr.CopyFrom([-7f, -7f], rows);

            float[] Run(Action action)
            {
                action();
                var all = dr.ToArray();
                Assert.Equal([-7f, -7f], all[rows..]);
                return all[..rows];
            }

            return new[]
            {
                new Case("entropy", m.Entropy(p, cols, LogBase.Bits), Run(() => m.Entropy(dp, rows, cols, dr, LogBase.Bits)),
                    (a, _) => InformationMeasures64.Entropy(a, LogBase.Bits, Loose)),
                new Case("cross-entropy", m.CrossEntropy(p, q, cols, LogBase.Nats), Run(() => m.CrossEntropy(dp, dq, rows, cols, dr, LogBase.Nats)),
                    (a, b) => InformationMeasures64.CrossEntropy(a, b, LogBase.Nats, Loose)),
                new Case("KL exact", m.KlDivergence(p, q, cols, LogBase.Bits), Run(() => m.KlDivergence(dp, dq, rows, cols, dr, LogBase.Bits)),
                    (a, b) => InformationMeasures64.KlDivergence(a, b, LogBase.Bits, null, Loose)),
                new Case("KL clipped", m.KlDivergence(p, q, cols, LogBase.Nats, 1e-10f), Run(() => m.KlDivergence(dp, dq, rows, cols, dr, LogBase.Nats, 1e-10f)),
                    (a, b) => InformationMeasures64.KlDivergence(a, b, LogBase.Nats, 1e-10, Loose)),
                new Case("JS exact", m.JensenShannon(p, q, cols, LogBase.Nats), Run(() => m.JensenShannon(dp, dq, rows, cols, dr, LogBase.Nats)),
                    (a, b) => InformationMeasures64.JensenShannon(a, b, LogBase.Nats, null, Loose)),
                new Case("JS clipped", m.JensenShannon(p, q, cols, LogBase.Of(10), 1e-10f), Run(() => m.JensenShannon(dp, dq, rows, cols, dr, LogBase.Of(10), 1e-10f)),
                    (a, b) => InformationMeasures64.JensenShannon(a, b, LogBase.Of(10), 1e-10, Loose)),
            };
        });

        foreach (var c in cases)
        {
            for (int r = 0; r < rows; r++)
            {
                Assert.True(
                    BitConverter.SingleToInt32Bits(c.Span[r]) == BitConverter.SingleToInt32Bits(c.Device[r]),
                    string.Create(CultureInfo.InvariantCulture, $"{kind} {c.Name} {rows}x{cols} row {r}: span {c.Span[r]:R}, device {c.Device[r]:R}"));
            }
            var want = new double[rows];
            for (int r = 0; r < rows; r++)
                want[r] = c.Reference(D(p.AsSpan(r * cols, cols)), D(q.AsSpan(r * cols, cols)));
            Tolerance.AllClose(want, c.Device.Select(v => (double)v).ToArray(), Float32VsFloat64Relative, Float32VsFloat64Absolute, $"{kind} {c.Name} {rows}x{cols} on device");
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void DeviceOverloadsCheckShapesAndBuffersButNotRows(string kind)
    {
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            using var p = d.Allocate<float>(6);
            using var r = d.Allocate<float>(2);
            using var shortR = d.Allocate<float>(1);

            Assert.Contains("columns must be positive", Assert.Throws<InfoGpuException>(() => m.Entropy(p, 2, 0, r, LogBase.Bits)).Message);
            Assert.Contains("rows must be >= 0", Assert.Throws<InfoGpuException>(() => m.Entropy(p, -1, 3, r, LogBase.Bits)).Message);
            Assert.Contains("p holds 6 values but 3 rows of 3 need 9", Assert.Throws<InfoGpuException>(() => m.Entropy(p, 3, 3, r, LogBase.Bits)).Message);
            Assert.Contains("destination holds 1 values", Assert.Throws<InfoGpuException>(() => m.KlDivergence(p, p, 2, 3, shortR, LogBase.Bits)).Message);
            Assert.Contains("not an input", Assert.Throws<InfoGpuException>(() => m.CrossEntropy(p, r, 2, 1, r, LogBase.Bits)).Message);
            Assert.Contains("epsilon", Assert.Throws<InfoGpuException>(() => m.JensenShannon(p, p, 2, 3, r, LogBase.Bits, 2f)).Message);

            // A buffer of another device is refused.
            var other = TestDevices.Get(kind == "cpu" ? "ilgpu-cpu" : "cpu");
            using var foreign = other.Allocate<float>(6);
            Assert.Contains("another device", Assert.Throws<InfoGpuException>(() => m.Entropy(foreign, 2, 3, r, LogBase.Bits)).Message);

            // Rows are not checked: rows that sum to 2 give the formula's value, with no error
            // (the span overload throws for them).
            p.CopyFrom([0.5f, 0.5f, 1f, 1f, 0.5f, 0.5f]);
            m.Entropy(p, 2, 3, r, LogBase.Bits);
            var h = r.ToArray();
            // -(0.5 log2 0.5 + 0.5 log2 0.5 + 1 log2 1) = 1 for both rows.
            Tolerance.Close(1.0, h[0], Tolerance.Float32Relative, 0, $"{kind} unchecked row 0");
            Tolerance.Close(1.0, h[1], Tolerance.Float32Relative, 0, $"{kind} unchecked row 1");
            Assert.Throws<InfoGpuException>(() => m.Entropy(p.ToArray(), 3, LogBase.Bits));

            // Zero rows: nothing to do, nothing written.
            r.CopyFrom([5f, 5f]);
            m.Entropy(p, 0, 3, r, LogBase.Bits);
            Assert.Equal([5f, 5f], r.ToArray());
            return 0;
        });
    }

    private static double[] D(ReadOnlySpan<float> v)
    {
        var d = new double[v.Length];
        for (int i = 0; i < v.Length; i++)
            d[i] = v[i];
        return d;
    }
}
