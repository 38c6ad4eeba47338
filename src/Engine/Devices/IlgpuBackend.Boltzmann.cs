using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, long, ulong, ulong, int>? boltzmannGibbsKernel;
    private Action<Index2D, ArrayView<float>, ArrayView<float>, int, int>? pairStatisticsKernel;

    public void BoltzmannGibbs(DeviceBuffer<float> states, DeviceBuffer<float> weights, DeviceBuffer<float> biases, int chains, int units, int clamped, int steps, long stepOffset, ulong seed, ulong stream, int firstChain = 0)
    {
        using var scope = Enter();
        boltzmannGibbsKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, long, ulong, ulong, int>(BoltzmannKernels.GibbsKernel);
        if (chains > 0 && steps > 0)
        {
            Counters.Launch();
            boltzmannGibbsKernel(chains, states.View, weights.View, biases.View, units, clamped, steps, stepOffset, seed, stream, firstChain);
        }
    }

    public void BoltzmannPairStatistics(DeviceBuffer<float> states, DeviceBuffer<float> result, int units, int chains)
    {
        using var scope = Enter();
        pairStatisticsKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<float>, int, int>(BoltzmannKernels.PairStatisticsKernel);
        Counters.Launch();
        pairStatisticsKernel(new Index2D(units, units), states.View, result.View, units, chains);
    }
}
