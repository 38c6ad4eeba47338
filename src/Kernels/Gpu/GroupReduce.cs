using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Fixed-order tree reductions over one group in shared memory. Every thread of the group
/// must call these (they contain barriers); the group size must be a power of two.
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
}
