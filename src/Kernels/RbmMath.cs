using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>Scalar arguments of the RBM parameter updates (see <see cref="RbmMath"/>).</summary>
internal struct RbmUpdateArgs
{
    /// <summary>Visible units (rows of W).</summary>
    public int Visible;

    /// <summary>Hidden units (columns of W).</summary>
    public int Hidden;

    public float LearningRate;
    public float Momentum;

    /// <summary>L2 penalty on the weights only.</summary>
    public float WeightDecay;

    /// <summary>1 / (rows of data in the batch).</summary>
    public float PositiveScale;

    /// <summary>1 / (rows of model samples, the chains).</summary>
    public float NegativeScale;

    /// <summary>Target mean activation t of the hidden units (used when <see cref="SparsityCost"/> &gt; 0).</summary>
    public float SparsityTarget;

    public float SparsityCost;

    /// <summary>q &lt;- decay q + (1 - decay) mean p(h | data).</summary>
    public float SparsityDecay;
}

/// <summary>
/// The scalar formulas of Bernoulli-RBM training and evaluation shared by the ILGPU kernels
/// and the CPU kernels.
/// </summary>
/// <remarks>
/// Update of a parameter theta with gradient g: velocity = momentum velocity + lr g;
/// theta += velocity. Gradients: g_W[i, j] = G[i, j] - wd W[i, j] - cost (q_j - t) vbar_i
/// (G = &lt;v h&gt;data - &lt;v h&gt;model, vbar the batch mean of the data visibles);
/// g_b = vbar - &lt;v&gt;model; g_c = hbar - &lt;h&gt;model - cost (q - t), where q is the running
/// mean of the hidden probabilities on the data (Hinton's practical guide, section 11).
/// </remarks>
internal static class RbmMath
{
    /// <summary>Momentum step of one parameter; returns the new value and updates <paramref name="velocity"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Step(float value, ref float velocity, float gradient, float lr, float momentum)
    {
        velocity = momentum * velocity + lr * gradient;
        return value + velocity;
    }

    /// <summary>
    /// The coefficients of one model of a grid: the sizes and batch scales of
    /// <paramref name="shared"/> with the learning rate, momentum, weight decay and sparsity
    /// settings of <paramref name="model"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RbmUpdateArgs ForModel(in RbmUpdateArgs shared, in RbmUpdateArgs model) => new()
    {
        Visible = shared.Visible,
        Hidden = shared.Hidden,
        PositiveScale = shared.PositiveScale,
        NegativeScale = shared.NegativeScale,
        LearningRate = model.LearningRate,
        Momentum = model.Momentum,
        WeightDecay = model.WeightDecay,
        SparsityTarget = model.SparsityTarget,
        SparsityCost = model.SparsityCost,
        SparsityDecay = model.SparsityDecay,
    };

    /// <summary>softplus(a + delta) - softplus(a), accurate when delta is small against a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SoftplusDifference(float a, float delta) =>
        ScalarMath.Softplus(a + delta) - ScalarMath.Softplus(a);

    /// <summary>log sigmoid(x) = -softplus(-x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LogSigmoid(float x) => -ScalarMath.Softplus(-x);
}
