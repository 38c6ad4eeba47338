using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Fixed-order tree reductions over one group in shared memory (at least group-size floats).
/// Every thread of the group must call these, with the same arguments (they contain barriers
/// whose count depends only on the group size and the width); the group size and the widths
/// must be powers of two. Threads with nothing to add pass the identity (0 for sums,
/// negative infinity for maxima).
/// </summary>
internal static class GroupReduce
{
    public static float Sum(ArrayView<float> shared, float value)
    {
        int tid = Group.IdxX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = Group.DimX >> 1; s > 0; s >>= 1)
        {
            if (tid < s)
                shared[tid] += shared[tid + s];
            Group.Barrier();
        }
        float result = shared[0];
        Group.Barrier();
        return result;
    }

    public static float Max(ArrayView<float> shared, float value)
    {
        int tid = Group.IdxX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = Group.DimX >> 1; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                float other = shared[tid + s];
                if (other > shared[tid])
                    shared[tid] = other;
            }
            Group.Barrier();
        }
        float result = shared[0];
        Group.Barrier();
        return result;
    }

    /// <summary>
    /// Sums over segments of <paramref name="width"/> consecutive threads (a power of two that
    /// divides the group size): thread t gets the sum of the values of threads
    /// [t - t mod width, t - t mod width + width), added as a tree in a fixed order. Row-block
    /// kernels give each row one segment; with width = group size this is <see cref="Sum"/>.
    /// </summary>
    public static float SegmentSum(ArrayView<float> shared, float value, int width)
    {
        int tid = Group.IdxX;
        int lane = tid & (width - 1);
        shared[tid] = value;
        Group.Barrier();
        for (int s = width >> 1; s > 0; s >>= 1)
        {
            if (lane < s)
                shared[tid] += shared[tid + s];
            Group.Barrier();
        }
        float result = shared[tid - lane];
        Group.Barrier();
        return result;
    }

    /// <summary>
    /// Sums over the threads that share their index modulo <paramref name="stride"/> (a power of
    /// two that divides the group size): thread t gets the sum of the values of threads
    /// t mod stride + k stride, added as a tree in a fixed order. Column-tile kernels give each
    /// column one lane (t mod stride) and spread its rows over the group size / stride threads
    /// of that lane.
    /// </summary>
    public static float StridedSum(ArrayView<float> shared, float value, int stride)
    {
        int tid = Group.IdxX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = Group.DimX >> 1; s >= stride; s >>= 1)
        {
            if (tid < s)
                shared[tid] += shared[tid + s];
            Group.Barrier();
        }
        float result = shared[tid & (stride - 1)];
        Group.Barrier();
        return result;
    }
}
