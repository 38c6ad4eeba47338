using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels;

/// <summary>
/// One summand of a row reduction sum_j f(p_j, q_j). The scalar form runs inside ILGPU
/// kernels and in SIMD tails; the vector form runs in the CPU kernels. Both must agree.
/// </summary>
public interface IRowTerm
{
    /// <summary>The summand for one element pair.</summary>
    float Apply(float p, float q);

    /// <summary>The summand for eight element pairs.</summary>
    Vector256<float> Apply(Vector256<float> p, Vector256<float> q);

    /// <summary>The summand for sixteen element pairs (AVX-512).</summary>
    Vector512<float> Apply(Vector512<float> p, Vector512<float> q);
}

internal static class TermVec
{
    /// <summary>x ln(x / y) where x &gt; 0, else 0; y = 0 &lt; x gives +inf (see <see cref="VectorLog.XLogXOverY(Vector256{float}, Vector256{float})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> XLogXOverY(Vector256<float> x, Vector256<float> y) => VectorLog.XLogXOverY(x, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clip(Vector256<float> x, float lo, float hi) =>
        Vector256.Min(Vector256.Max(x, Vector256.Create(lo)), Vector256.Create(hi));

    /// <summary>Sixteen-lane form of <see cref="XLogXOverY(Vector256{float}, Vector256{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> XLogXOverY(Vector512<float> x, Vector512<float> y) => VectorLog.XLogXOverY(x, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clip(Vector512<float> x, float lo, float hi) =>
        Vector512.Min(Vector512.Max(x, Vector512.Create(lo)), Vector512.Create(hi));
}

/// <summary>Shannon entropy summand -p ln p (0 ln 0 = 0). q is ignored.</summary>
public readonly struct EntropyTerm : IRowTerm
{
    public float Apply(float p, float q) => -ScalarMath.XLogX(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> p, Vector256<float> q) => VectorLog.NegXLogX(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> p, Vector512<float> q) => VectorLog.NegXLogX(p);
}

/// <summary>Cross-entropy summand -p ln q: 0 where p = 0, +inf where q = 0 &lt; p.</summary>
public readonly struct CrossEntropyTerm : IRowTerm
{
    public float Apply(float p, float q) => ScalarMath.CrossTerm(p, q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> p, Vector256<float> q) =>
        Vector256.ConditionalSelect(
            Vector256.GreaterThan(p, Vector256<float>.Zero),
            -(p * VectorLog.Log(q)),
            Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> p, Vector512<float> q) =>
        Vector512.ConditionalSelect(
            Vector512.GreaterThan(p, Vector512<float>.Zero),
            -(p * VectorLog.Log(q)),
            Vector512<float>.Zero);
}

/// <summary>Exact KL summand p ln(p / q): 0 where p = 0, +inf where q = 0 &lt; p.</summary>
public readonly struct KlTerm : IRowTerm
{
    public float Apply(float p, float q) => ScalarMath.XLogXOverY(p, q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> p, Vector256<float> q) => TermVec.XLogXOverY(p, q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> p, Vector512<float> q) => TermVec.XLogXOverY(p, q);
}

/// <summary>The textbook's clipped KL summand: p' ln(p' / q') with p', q' clipped to [epsilon, 1].</summary>
public readonly struct KlClippedTerm : IRowTerm
{
    private readonly float epsilon;

    public KlClippedTerm(float epsilon) => this.epsilon = epsilon;

    public float Apply(float p, float q)
    {
        float pc = ScalarMath.Clip(p, epsilon, 1f);
        float qc = ScalarMath.Clip(q, epsilon, 1f);
        return pc * (MathF.Log(pc) - MathF.Log(qc));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> p, Vector256<float> q)
    {
        var pc = TermVec.Clip(p, epsilon, 1f);
        var qc = TermVec.Clip(q, epsilon, 1f);
        return pc * (VectorLog.Log(pc) - VectorLog.Log(qc));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> p, Vector512<float> q)
    {
        var pc = TermVec.Clip(p, epsilon, 1f);
        var qc = TermVec.Clip(q, epsilon, 1f);
        return pc * (VectorLog.Log(pc) - VectorLog.Log(qc));
    }
}

/// <summary>Jensen-Shannon summand (p ln(p/m) + q ln(q/m)) / 2 with m = (p + q) / 2.</summary>
public readonly struct JsTerm : IRowTerm
{
    public float Apply(float p, float q)
    {
        float m = 0.5f * (p + q);
        return 0.5f * (ScalarMath.XLogXOverY(p, m) + ScalarMath.XLogXOverY(q, m));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> p, Vector256<float> q)
    {
        var half = Vector256.Create(0.5f);
        var m = half * (p + q);
        return half * (TermVec.XLogXOverY(p, m) + TermVec.XLogXOverY(q, m));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> p, Vector512<float> q)
    {
        var half = Vector512.Create(0.5f);
        var m = half * (p + q);
        return half * (TermVec.XLogXOverY(p, m) + TermVec.XLogXOverY(q, m));
    }
}

/// <summary>The textbook's clipped Jensen-Shannon summand: m = (p + q) / 2, then the clipped KL summands to m.</summary>
public readonly struct JsClippedTerm : IRowTerm
{
    private readonly KlClippedTerm kl;

    public JsClippedTerm(float epsilon) => kl = new KlClippedTerm(epsilon);

    public float Apply(float p, float q)
    {
        float m = 0.5f * (p + q);
        return 0.5f * (kl.Apply(p, m) + kl.Apply(q, m));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> p, Vector256<float> q)
    {
        var half = Vector256.Create(0.5f);
        var m = half * (p + q);
        return half * (kl.Apply(p, m) + kl.Apply(q, m));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> p, Vector512<float> q)
    {
        var half = Vector512.Create(0.5f);
        var m = half * (p + q);
        return half * (kl.Apply(p, m) + kl.Apply(q, m));
    }
}

/// <summary>
/// KL-divergence loss summand as PyTorch's kl_div: target p, input x = log q:
/// p (ln p - x), 0 where p = 0.
/// </summary>
public readonly struct KlDivLossTerm : IRowTerm
{
    public float Apply(float p, float q) => p > 0f ? p * (MathF.Log(p) - q) : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> p, Vector256<float> q) =>
        Vector256.ConditionalSelect(
            Vector256.GreaterThan(p, Vector256<float>.Zero),
            p * (VectorLog.Log(p) - q),
            Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> p, Vector512<float> q) =>
        Vector512.ConditionalSelect(
            Vector512.GreaterThan(p, Vector512<float>.Zero),
            p * (VectorLog.Log(p) - q),
            Vector512<float>.Zero);
}

/// <summary>
/// KL(N(mu, exp(logvar)) || N(0, 1)) summand for one latent dimension:
/// -(1 + logvar - mu^2 - exp(logvar)) / 2. Here p = mu and q = logvar.
/// </summary>
public readonly struct GaussianKlTerm : IRowTerm
{
    public float Apply(float p, float q) => -0.5f * (1f + q - p * p - MathF.Exp(q));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> p, Vector256<float> q) =>
        Vector256.Create(-0.5f) * (Vector256.Create(1f) + q - p * p - Vector256.Exp(q));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> p, Vector512<float> q) =>
        Vector512.Create(-0.5f) * (Vector512.Create(1f) + q - p * p - Vector512.Exp(q));
}
