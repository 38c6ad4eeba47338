using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Kernels;

/// <summary>
/// One summand of a row reduction sum_j f(p_j, q_j). The scalar form runs inside ILGPU
/// kernels and in SIMD tails; the vector form runs in the CPU kernels. Both must agree.
/// </summary>
/// <remarks>
/// The vector forms add their summands into the caller's running sum (so a product and its
/// addition can be one fused multiply-add) and may split a summand as a + b ln 2: a goes into
/// <c>sum</c>, b into <c>ln2</c>, which the row kernel sums on its own and multiplies by ln 2
/// in float64 at the end (the logarithms' exponent parts never pass through a rounded float
/// logarithm). Terms without a logarithm leave <c>ln2</c> alone.
/// </remarks>
internal interface IRowTerm
{
    /// <summary>The summand for one element pair.</summary>
    float Apply(float p, float q);

    /// <summary>Adds the summands of eight element pairs to <paramref name="sum"/>, or their parts to <paramref name="sum"/> and <paramref name="ln2"/>.</summary>
    void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2);

    /// <summary>Adds the summands of sixteen element pairs (AVX-512) to <paramref name="sum"/>, or their parts to <paramref name="sum"/> and <paramref name="ln2"/>.</summary>
    void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2);
}

internal static class TermVec
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clip(Vector256<float> x, float lo, float hi) =>
        Vector256.Min(Vector256.Max(x, Vector256.Create(lo)), Vector256.Create(hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clip(Vector512<float> x, float lo, float hi) =>
        Vector512.Min(Vector512.Max(x, Vector512.Create(lo)), Vector512.Create(hi));
}

/// <summary>Shannon entropy summand -p ln p (0 ln 0 = 0). q is ignored.</summary>
internal readonly struct EntropyTerm : IRowTerm
{
    public float Apply(float p, float q) => -ScalarMath.XLogX(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2) => VectorLog.NegXLogX(p, ref sum, ref ln2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2) => VectorLog.NegXLogX(p, ref sum, ref ln2);
}

/// <summary>Cross-entropy summand -p ln q: 0 where p = 0, +inf where q = 0 &lt; p.</summary>
internal readonly struct CrossEntropyTerm : IRowTerm
{
    public float Apply(float p, float q) => ScalarMath.CrossTerm(p, q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2) => VectorLog.NegXLogY(p, q, ref sum, ref ln2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2) => VectorLog.NegXLogY(p, q, ref sum, ref ln2);
}

/// <summary>Exact KL summand p ln(p / q): 0 where p = 0, +inf where q = 0 &lt; p.</summary>
internal readonly struct KlTerm : IRowTerm
{
    public float Apply(float p, float q) => ScalarMath.XLogXOverY(p, q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2) => VectorLog.XLogXOverY(p, q, ref sum, ref ln2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2) => VectorLog.XLogXOverY(p, q, ref sum, ref ln2);
}

/// <summary>The textbook's clipped KL summand: p' ln(p' / q') with p', q' clipped to [epsilon, 1].</summary>
internal readonly struct KlClippedTerm : IRowTerm
{
    private readonly float epsilon;

    public KlClippedTerm(float epsilon) => this.epsilon = epsilon;

    public float Apply(float p, float q)
    {
        float pc = ScalarMath.Clip(p, epsilon, 1f);
        float qc = ScalarMath.Clip(q, epsilon, 1f);
        return pc * (AccurateMath.Log(pc) - AccurateMath.Log(qc));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2)
    {
        var pc = TermVec.Clip(p, epsilon, 1f);
        var qc = TermVec.Clip(q, epsilon, 1f);
        sum = Vector256.FusedMultiplyAdd(pc, VectorLog.Log(pc) - VectorLog.Log(qc), sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2)
    {
        var pc = TermVec.Clip(p, epsilon, 1f);
        var qc = TermVec.Clip(q, epsilon, 1f);
        sum = Vector512.FusedMultiplyAdd(pc, VectorLog.Log(pc) - VectorLog.Log(qc), sum);
    }
}

/// <summary>Jensen-Shannon summand (p ln(p/m) + q ln(q/m)) / 2 with m = (p + q) / 2.</summary>
internal readonly struct JsTerm : IRowTerm
{
    public float Apply(float p, float q)
    {
        float m = 0.5f * (p + q);
        return 0.5f * (ScalarMath.XLogXOverY(p, m) + ScalarMath.XLogXOverY(q, m));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2)
    {
        var half = Vector256.Create(0.5f);
        var m = half * (p + q);
        var twice = Vector256<float>.Zero;
        var twiceLn2 = Vector256<float>.Zero;
        VectorLog.XLogXOverY(p, m, ref twice, ref twiceLn2);
        VectorLog.XLogXOverY(q, m, ref twice, ref twiceLn2);
        sum = Vector256.FusedMultiplyAdd(half, twice, sum);
        ln2 = Vector256.FusedMultiplyAdd(half, twiceLn2, ln2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2)
    {
        var half = Vector512.Create(0.5f);
        var m = half * (p + q);
        var twice = Vector512<float>.Zero;
        var twiceLn2 = Vector512<float>.Zero;
        VectorLog.XLogXOverY(p, m, ref twice, ref twiceLn2);
        VectorLog.XLogXOverY(q, m, ref twice, ref twiceLn2);
        sum = Vector512.FusedMultiplyAdd(half, twice, sum);
        ln2 = Vector512.FusedMultiplyAdd(half, twiceLn2, ln2);
    }
}

/// <summary>The textbook's clipped Jensen-Shannon summand: m = (p + q) / 2, then the clipped KL summands to m.</summary>
internal readonly struct JsClippedTerm : IRowTerm
{
    private readonly KlClippedTerm kl;

    public JsClippedTerm(float epsilon) => kl = new KlClippedTerm(epsilon);

    public float Apply(float p, float q)
    {
        float m = 0.5f * (p + q);
        return 0.5f * (kl.Apply(p, m) + kl.Apply(q, m));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2)
    {
        var half = Vector256.Create(0.5f);
        var m = half * (p + q);
        var twice = Vector256<float>.Zero;
        kl.Accumulate(p, m, ref twice, ref ln2);
        kl.Accumulate(q, m, ref twice, ref ln2);
        sum = Vector256.FusedMultiplyAdd(half, twice, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2)
    {
        var half = Vector512.Create(0.5f);
        var m = half * (p + q);
        var twice = Vector512<float>.Zero;
        kl.Accumulate(p, m, ref twice, ref ln2);
        kl.Accumulate(q, m, ref twice, ref ln2);
        sum = Vector512.FusedMultiplyAdd(half, twice, sum);
    }
}

/// <summary>
/// KL-divergence loss summand as PyTorch's kl_div: target p, input x = log q:
/// p (ln p - x), 0 where p = 0.
/// </summary>
internal readonly struct KlDivLossTerm : IRowTerm
{
    public float Apply(float p, float q) => p > 0f ? p * (AccurateMath.Log(p) - q) : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2) =>
        sum += Vector256.ConditionalSelect(
            Vector256.GreaterThan(p, Vector256<float>.Zero),
            p * (VectorLog.Log(p) - q),
            Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2) =>
        sum += Vector512.ConditionalSelect(
            Vector512.GreaterThan(p, Vector512<float>.Zero),
            p * (VectorLog.Log(p) - q),
            Vector512<float>.Zero);
}

/// <summary>
/// KL(N(mu, exp(logvar)) || N(0, 1)) summand for one latent dimension:
/// -(1 + logvar - mu^2 - exp(logvar)) / 2. Here p = mu and q = logvar.
/// </summary>
internal readonly struct GaussianKlTerm : IRowTerm
{
    public float Apply(float p, float q) => VaeMath.Kl(p, q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector256<float> p, Vector256<float> q, ref Vector256<float> sum, ref Vector256<float> ln2) =>
        sum += Vector256.Create(-0.5f) * (Vector256.Create(1f) + q - p * p - Vector256.Exp(q));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Accumulate(Vector512<float> p, Vector512<float> q, ref Vector512<float> sum, ref Vector512<float> ln2) =>
        sum += Vector512.Create(-0.5f) * (Vector512.Create(1f) + q - p * p - Vector512.Exp(q));
}
