namespace InfoGpu.Kernels;

/// <summary>Scalar helpers of the Boltzmann-machine kernels, shared with the CPU path.</summary>
internal static class BoltzmannMath
{
    /// <summary>floor(u * count), kept below count.</summary>
    public static int PickUnit(float u, int count)
    {
        int i = (int)(u * count);
        return i < count ? i : count - 1;
    }
}
