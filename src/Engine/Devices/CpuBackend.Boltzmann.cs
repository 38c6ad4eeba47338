using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public void BoltzmannGibbs(DeviceBuffer<float> states, DeviceBuffer<float> weights, DeviceBuffer<float> biases, int chains, int units, int clamped, int steps, long stepOffset, ulong seed, ulong stream, int firstChain = 0)
    {
        Counters.Launch();
        CpuBoltzmannKernels.Gibbs(states.Span, weights.Span, biases.Span, chains, units, clamped, steps, stepOffset, seed, stream, firstChain);
    }

    public void BoltzmannPairStatistics(DeviceBuffer<float> states, DeviceBuffer<float> result, int units, int chains)
    {
        Counters.Launch();
        CpuBoltzmannKernels.PairStatistics(states.Span, result.Span, units, chains);
    }
}
