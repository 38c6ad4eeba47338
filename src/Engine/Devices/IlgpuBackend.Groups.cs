using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Devices;

/// <summary>
/// Launch shapes of the group-parallel kernels (see InfoGpu.Kernels.Gpu.GroupLayout): every
/// group has <see cref="RowGroupSize"/> threads (a power of two up to 1024) and that many floats
/// of shared memory; the grid covers the rows or columns, the last group padded with idle
/// threads that still reach every barrier.
/// </summary>
internal sealed partial class IlgpuBackend
{
    /// <summary>Columns per group of the column-tile kernels: one warp's worth of consecutive addresses.</summary>
    private const int ColumnTileWidth = 32;

    /// <summary>
    /// Sets the threads per group of the row and column kernels (tests run the kernels at the
    /// group sizes of real GPUs on a CPU accelerator shaped like one). The caller holds the
    /// device to itself; the value must be a power of two the accelerator supports.
    /// </summary>
    internal void SetGroupSize(int size)
    {
        if (size < 1 || !BitOperations.IsPow2(size) || size > Accelerator.MaxNumThreadsPerGroup)
            throw new ArgumentOutOfRangeException(nameof(size), $"a group size must be a power of two up to {Accelerator.MaxNumThreadsPerGroup}");
        using var scope = Enter();
        RowGroupSize = size;
    }

    /// <summary>A grid of <paramref name="groups"/> groups of <see cref="RowGroupSize"/> threads with group-size floats of shared memory.</summary>
    private KernelConfig GroupConfig(long groups) =>
        new(new Index1D(checked((int)Math.Max(groups, 1))), new Index1D(RowGroupSize), SharedMemoryConfig.RequestDynamic<float>(RowGroupSize));

    /// <summary>
    /// Row blocks for rows of <paramref name="cols"/> values: lanes = the smallest power of two
    /// at least cols, at most the group size (so a 20-column row takes 32 threads and a group
    /// holds several rows; a 784-column row takes the whole group).
    /// </summary>
    private (KernelConfig Config, int Lanes) RowBlocks(int rows, int cols)
    {
        int g = RowGroupSize;
        int lanes = cols >= g ? g : (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(cols, 1));
        int perGroup = g / lanes;
        return (GroupConfig(((long)rows + perGroup - 1) / perGroup), lanes);
    }

    /// <summary>Column tiles of <see cref="ColumnTileWidth"/> columns (fewer in groups smaller than that).</summary>
    private (KernelConfig Config, int Lanes) ColumnTiles(int cols)
    {
        int lanes = Math.Min(RowGroupSize, ColumnTileWidth);
        return (GroupConfig(((long)cols + lanes - 1) / lanes), lanes);
    }
}
