using ILGPU;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Where a thread works in the two group-parallel launch shapes (the host sizes them in
/// IlgpuBackend.Groups.cs). <c>lanes</c> is a power of two that divides the group size.
/// <list type="bullet">
/// <item><b>Row blocks</b>: a group holds group size / lanes rows, one segment of
/// <c>lanes</c> consecutive threads per row; lane l adds the row's columns l, l + lanes, ...,
/// then <see cref="GroupReduce.SegmentSum"/> adds the lanes as a tree.</item>
/// <item><b>Column tiles</b>: a group holds <c>lanes</c> consecutive columns (one per lane, so a
/// warp reads consecutive addresses) and spreads the rows over the group size / lanes threads
/// of each lane: row lane k adds rows k, k + rowLanes, ..., then
/// <see cref="GroupReduce.StridedSum"/> adds the row lanes as a tree.</item>
/// </list>
/// Threads past the last row or column still take part in every barrier, with the identity.
/// </summary>
internal static class GroupLayout
{
    /// <summary>The thread's lane: its index in its row's segment, or its column in the tile.</summary>
    public static int Lane(int lanes) => Group.IdxX & (lanes - 1);

    /// <summary>Row-block shape: the row of this thread's segment.</summary>
    public static int BlockRow(int lanes) => Grid.IdxX * (Group.DimX / lanes) + Group.IdxX / lanes;

    /// <summary>Column-tile shape: the column of this thread.</summary>
    public static int TileColumn(int lanes) => Grid.IdxX * lanes + (Group.IdxX & (lanes - 1));

    /// <summary>Column-tile shape: the first row of this thread (its row lane).</summary>
    public static int TileRowLane(int lanes) => Group.IdxX / lanes;

    /// <summary>Column-tile shape: the row stride (row lanes per column).</summary>
    public static int TileRowLanes(int lanes) => Group.DimX / lanes;
}
