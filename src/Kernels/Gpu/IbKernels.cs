using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>The batched information bottleneck's memory as ILGPU views (see <see cref="IIbMemory"/>).</summary>
internal struct IbViews(ArrayView<float> problem, ArrayView<float> state, ArrayView<float> betas, ArrayView<int> flags) : IIbMemory
{
    private ArrayView<float> problem = problem;
    private ArrayView<float> state = state;
    private ArrayView<float> betas = betas;
    private ArrayView<int> flags = flags;

    /// <inheritdoc/>
    public readonly float Problem(long i) => problem[i];

    /// <inheritdoc/>
    public readonly float Get(long i) => state[i];

    /// <inheritdoc/>
    public readonly void Set(long i, float v) => state[i] = v;

    /// <inheritdoc/>
    public readonly float Beta(int lane) => betas[lane];

    /// <inheritdoc/>
    public readonly int Flag(long i) => flags[i];

    /// <inheritdoc/>
    public readonly void SetFlag(long i, int v) => flags[i] = v;
}

/// <summary>
/// ILGPU kernels of the batched information bottleneck: one thread per lane (one beta), each
/// running <see cref="IbMath"/> on its own state, so that one launch advances every beta of a run
/// (the CPU side is <see cref="Cpu.CpuIbKernels"/>).
/// </summary>
internal static class IbKernels
{
    /// <summary>Splits the used clusters of each active lane (<see cref="IbMath.Split{TMem}"/>).</summary>
    public static void SplitKernel(Index1D lane, IbViews m, IbShape s) => IbMath.Split(m, lane, s);

    /// <summary>One self-consistent update of each active, unconverged lane (<see cref="IbMath.Update{TMem}"/>).</summary>
    public static void UpdateKernel(Index1D lane, IbViews m, IbShape s) => IbMath.Update(m, lane, s);

    /// <summary>Merges the coinciding clusters of each active lane (<see cref="IbMath.Merge{TMem}"/>).</summary>
    public static void MergeKernel(Index1D lane, IbViews m, IbShape s) => IbMath.Merge(m, lane, s);
}
