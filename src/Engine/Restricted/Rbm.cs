using InfoGpu.Kernels;

namespace InfoGpu.Restricted;

/// <summary>
/// A Bernoulli-Bernoulli restricted Boltzmann machine: <see cref="Visible"/> binary visible
/// units, <see cref="Hidden"/> binary hidden units, weights nv x nh row-major (W[i nh + j]
/// links visible i and hidden j), visible biases b and hidden biases c. Host arrays; a
/// <see cref="RbmTrainer"/> keeps its own copy on the device and writes it back here.
/// </summary>
/// <remarks>
/// E(v, h) = -b.v - c.h - v W h; p(h_j = 1 | v) = sigmoid(c_j + (v W)_j);
/// p(v_i = 1 | h) = sigmoid(b_i + (W h)_i); F(v) = -b.v - sum_j softplus(c_j + (v W)_j).
/// </remarks>
public sealed class Rbm
{
    /// <summary>Philox stream of the weight initialization.</summary>
    internal const ulong InitStream = 31;

    /// <summary>An RBM of the given sizes with all parameters zero.</summary>
    public Rbm(int visible, int hidden)
    {
        if (visible < 1 || hidden < 1)
            throw new InfoGpuException($"an RBM needs at least one visible and one hidden unit; got {visible} visible, {hidden} hidden");
        if ((long)visible * hidden > int.MaxValue)
            throw new InfoGpuException($"an RBM of {visible} x {hidden} units has more than {int.MaxValue} weights; use fewer hidden units");
        Visible = visible;
        Hidden = hidden;
        Weights = new float[visible * hidden];
        VisibleBias = new float[visible];
        HiddenBias = new float[hidden];
    }

    /// <summary>Visible units (rows of W).</summary>
    public int Visible { get; }

    /// <summary>Hidden units (columns of W).</summary>
    public int Hidden { get; }

    /// <summary>nv x nh row-major.</summary>
    public float[] Weights { get; }

    /// <summary>b, one per visible unit.</summary>
    public float[] VisibleBias { get; }

    /// <summary>c, one per hidden unit.</summary>
    public float[] HiddenBias { get; }

    /// <summary>
    /// The initialization of Hinton's practical guide: W ~ N(0, 0.01^2) from Philox (seed,
    /// stream 31); b_i = log(p_i / (1 - p_i)) from the training pixel means p_i clipped to
    /// [0.001, 0.999] (b = 0 when <paramref name="pixelMeans"/> is null); c = 0, or
    /// log(t / (1 - t)) with a sparsity target t.
    /// </summary>
    public static Rbm Initialize(int visible, int hidden, ulong seed, ReadOnlySpan<float> pixelMeans = default, double? sparsityTarget = null, double weightScale = 0.01)
    {
        var rbm = new Rbm(visible, hidden);
        for (int k = 0; k < rbm.Weights.Length; k++)
            rbm.Weights[k] = (float)(weightScale * Philox.Normal(seed, InitStream, (ulong)k));
        if (!pixelMeans.IsEmpty)
        {
            if (pixelMeans.Length != visible)
                throw new InfoGpuException($"pixel means: {pixelMeans.Length} values for {visible} visible units");
            for (int i = 0; i < visible; i++)
            {
                double p = Math.Clamp(pixelMeans[i], 0.001, 0.999);
                rbm.VisibleBias[i] = (float)Math.Log(p / (1 - p));
            }
        }
        if (sparsityTarget is double t && t > 0 && t < 1)
            Array.Fill(rbm.HiddenBias, (float)Math.Log(t / (1 - t)));
        return rbm;
    }

    /// <summary>A deep copy.</summary>
    public Rbm Clone()
    {
        var r = new Rbm(Visible, Hidden);
        Weights.CopyTo(r.Weights, 0);
        VisibleBias.CopyTo(r.VisibleBias, 0);
        HiddenBias.CopyTo(r.HiddenBias, 0);
        return r;
    }

    /// <summary>F(v) in float64 for one visible row.</summary>
    public double FreeEnergy(ReadOnlySpan<float> v) => -Evaluation.RbmExactLikelihood.NegativeFreeEnergy(Weights, VisibleBias, HiddenBias, v);

    /// <summary>The first parameter that is NaN or infinite, as "W[i, j]", "b[i]" or "c[j]"; null when all are finite.</summary>
    public string? FirstNonFinite()
    {
        for (int k = 0; k < Weights.Length; k++)
        {
            if (!float.IsFinite(Weights[k]))
                return $"W[{k / Hidden}, {k % Hidden}] = {Weights[k]}";
        }
        for (int i = 0; i < Visible; i++)
        {
            if (!float.IsFinite(VisibleBias[i]))
                return $"b[{i}] = {VisibleBias[i]}";
        }
        for (int j = 0; j < Hidden; j++)
        {
            if (!float.IsFinite(HiddenBias[j]))
                return $"c[{j}] = {HiddenBias[j]}";
        }
        return null;
    }
}
