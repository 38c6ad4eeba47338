namespace InfoGpu.Devices;

internal partial interface IComputeBackend
{
    /// <summary>Single-site Gibbs updates of every chain of a general Boltzmann machine (see BoltzmannKernels.GibbsKernel).</summary>
    void BoltzmannGibbs(DeviceBuffer<float> states, DeviceBuffer<float> weights, DeviceBuffer<float> biases, int chains, int units, int clamped, int steps, long stepOffset, ulong seed, ulong stream, int firstChain = 0);

    /// <summary>result[i, j] = sum over chains of s_i s_j.</summary>
    void BoltzmannPairStatistics(DeviceBuffer<float> states, DeviceBuffer<float> result, int units, int chains);
}
