using CsCheck;
using InfoGpu.Measures;

namespace InfoGpu.Tests.Properties;

/// <summary>
/// Invariants of the float64 measures on random distributions (CsCheck generates, and shrinks a
/// failure to a small case): KL >= 0 with equality at p = q, H(X|Y) <= H(X), MI symmetric and
/// >= 0, JS in [0, ln 2], cross-entropy = H(p) + KL(p || q). Tolerance 1e-12 nats: float64
/// rounding of sums of at most 64 terms of size <= ln 64.
/// </summary>
public class MeasureInvariantTests
{
    private const double Rounding = 1e-12;

    /// <summary>A distribution of <paramref name="n"/> outcomes, some exactly zero (the first never).</summary>
    private static Gen<double[]> DistributionOf(int n) =>
        Gen.Double[0.01, 1].Array[n]
            .Select(w => w.Select((v, i) => v < 0.15 && i > 0 ? 0 : v).ToArray())
            .Select(w => w.Select(v => v / w.Sum()).ToArray());

    /// <summary>A distribution of 2..12 outcomes.</summary>
    private static readonly Gen<double[]> Distribution = Gen.Int[2, 12].SelectMany(DistributionOf);

    /// <summary>A strictly positive distribution of the given size (a q under which KL is finite).</summary>
    private static Gen<double[]> Positive(int n) =>
        Gen.Double[0.01, 1].Array[n].Select(w => w.Select(v => v / w.Sum()).ToArray());

    [Fact]
    public void KlIsNonNegativeAndZeroOnlyAtEquality() =>
        Distribution.SelectMany(p => Positive(p.Length).Select(q => (p, q))).Sample(t =>
        {
            double kl = InformationMeasures64.KlDivergence(t.p, t.q, LogBase.Nats);
            Assert.True(kl >= -Rounding, $"KL = {kl}");
            Assert.True(Math.Abs(InformationMeasures64.KlDivergence(t.p, t.p, LogBase.Nats)) <= Rounding);
            double h = InformationMeasures64.Entropy(t.p, LogBase.Nats);
            double ce = InformationMeasures64.CrossEntropy(t.p, t.q, LogBase.Nats);
            Assert.True(Math.Abs(ce - (h + kl)) <= 1e-11, $"H(p, q) {ce} != H(p) {h} + KL {kl}");
        }, iter: 2000);

    [Fact]
    public void JensenShannonIsBoundedBySymmetricAndLn2() =>
        Gen.Int[2, 12].SelectMany(n => DistributionOf(n).SelectMany(p => DistributionOf(n).Select(q => (p, q)))).Sample(t =>
        {
            double js = InformationMeasures64.JensenShannon(t.p, t.q, LogBase.Nats);
            double back = InformationMeasures64.JensenShannon(t.q, t.p, LogBase.Nats);
            Assert.InRange(js, -Rounding, Math.Log(2) + Rounding);
            Assert.True(Math.Abs(js - back) <= Rounding, $"JS(p, q) {js} != JS(q, p) {back}");
        }, iter: 2000);

    [Fact]
    public void ConditioningReducesEntropyAndMutualInformationIsSymmetric() =>
        Gen.Int[1, 6].SelectMany(nx => Gen.Int[1, 6].SelectMany(ny => Gen.Double[0.001, 1].Array[nx * ny].Select(w => (nx, ny, table: w.Select(v => v / w.Sum()).ToArray()))))
            .Sample(t =>
            {
                var j = InformationMeasures64.Joint(t.table, t.nx, t.ny, LogBase.Nats);
                var transposed = new double[t.table.Length];
                for (int x = 0; x < t.nx; x++)
                {
                    for (int y = 0; y < t.ny; y++)
                        transposed[y * t.nx + x] = t.table[x * t.ny + y];
                }
                var jt = InformationMeasures64.Joint(transposed, t.ny, t.nx, LogBase.Nats);
                Assert.True(j.HXGivenY <= j.HX + Rounding, $"H(X|Y) {j.HXGivenY} > H(X) {j.HX}");
                Assert.True(j.HYGivenX <= j.HY + Rounding, $"H(Y|X) {j.HYGivenX} > H(Y) {j.HY}");
                Assert.True(j.MutualInformation >= -Rounding, $"I(X;Y) = {j.MutualInformation}");
                Assert.True(Math.Abs(j.MutualInformation - jt.MutualInformation) <= Rounding, $"I(X;Y) {j.MutualInformation} != I(Y;X) {jt.MutualInformation}");
                Assert.True(j.MutualInformation <= Math.Min(j.HX, j.HY) + Rounding);
            }, iter: 2000);
}
