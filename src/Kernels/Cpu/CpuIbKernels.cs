namespace InfoGpu.Kernels.Cpu;

/// <summary>The batched information bottleneck's memory as arrays (see <see cref="IIbMemory"/>).</summary>
internal readonly struct IbArrays(float[] problem, float[] state, float[] betas, int[] flags) : IIbMemory
{
    /// <inheritdoc/>
    public float Problem(long i) => problem[i];

    /// <inheritdoc/>
    public float Get(long i) => state[i];

    /// <inheritdoc/>
    public void Set(long i, float v) => state[i] = v;

    /// <inheritdoc/>
    public float Beta(int lane) => betas[lane];

    /// <inheritdoc/>
    public int Flag(long i) => flags[i];

    /// <inheritdoc/>
    public void SetFlag(long i, int v) => flags[i] = v;
}

/// <summary>The batched information bottleneck on the CPU: the lanes of <see cref="IbMath"/> in parallel.</summary>
internal static class CpuIbKernels
{
    /// <summary>Splits the used clusters of each active lane.</summary>
    public static void Split(IbArrays m, int lanes, IbShape s) => Parallel.For(0, lanes, lane => IbMath.Split(m, lane, s));

    /// <summary>One self-consistent update of each active, unconverged lane.</summary>
    public static void Update(IbArrays m, int lanes, IbShape s) => Parallel.For(0, lanes, lane => IbMath.Update(m, lane, s));

    /// <summary>Merges the coinciding clusters of each active lane.</summary>
    public static void Merge(IbArrays m, int lanes, IbShape s) => Parallel.For(0, lanes, lane => IbMath.Merge(m, lane, s));
}
