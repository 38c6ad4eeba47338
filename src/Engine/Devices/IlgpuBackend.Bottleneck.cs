using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<Index1D, IbViews, IbShape>? ibSplitKernel;
    private Action<Index1D, IbViews, IbShape>? ibUpdateKernel;
    private Action<Index1D, IbViews, IbShape>? ibMergeKernel;

    public IIbLanes CreateIbLanes(ReadOnlySpan<float> problem, IbShape shape, int lanes)
    {
        using var scope = Enter();
        ibSplitKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, IbViews, IbShape>(IbKernels.SplitKernel);
        ibUpdateKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, IbViews, IbShape>(IbKernels.UpdateKernel);
        ibMergeKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, IbViews, IbShape>(IbKernels.MergeKernel);
        return new IlgpuIbLanes(this, problem, shape, lanes);
    }

    /// <summary>The lanes' buffers on the accelerator; every call takes the backend's lock.</summary>
    private sealed class IlgpuIbLanes : IIbLanes
    {
        private readonly IlgpuBackend backend;
        private readonly MemoryBuffer1D<float, Stride1D.Dense> problem;
        private readonly MemoryBuffer1D<float, Stride1D.Dense> state;
        private readonly MemoryBuffer1D<float, Stride1D.Dense> betas;
        private readonly MemoryBuffer1D<int, Stride1D.Dense> flags;
        private readonly int lanes;
        private readonly long laneFloats;

        public IlgpuIbLanes(IlgpuBackend backend, ReadOnlySpan<float> problemData, IbShape shape, int lanes)
        {
            this.backend = backend;
            this.lanes = lanes;
            laneFloats = shape.LaneFloats;
            var accelerator = backend.Accelerator;
            problem = accelerator.Allocate1D<float>(Math.Max(1, problemData.Length));
            state = accelerator.Allocate1D<float>(shape.LaneFloats * lanes);
            betas = accelerator.Allocate1D<float>(lanes);
            flags = accelerator.Allocate1D<int>((long)IbMath.FlagsPerLane * lanes);
            backend.Counters.Allocation(problem.LengthInBytes + state.LengthInBytes + betas.LengthInBytes + flags.LengthInBytes);
            Copy(problemData, problem.View);
            var initial = new float[shape.LaneFloats * lanes];
            for (int lane = 0; lane < lanes; lane++)
            {
                for (int x = 0; x < shape.Nx; x++)
                    initial[lane * shape.LaneFloats + (long)x * shape.N] = 1f;
            }
            Copy<float>(initial, state.View);
        }

        private IbViews Views => new(problem.View, state.View, betas.View, flags.View);

        public void BeginStage(ReadOnlySpan<float> b, ReadOnlySpan<int> f)
        {
            using var scope = backend.Enter();
            Copy(b, betas.View);
            Copy(f, flags.View);
        }

        public void Split(IbShape shape)
        {
            using var scope = backend.Enter();
            backend.Counters.Launch();
            backend.ibSplitKernel!(lanes, Views, shape);
        }

        public void Update(IbShape shape)
        {
            using var scope = backend.Enter();
            backend.Counters.Launch();
            backend.ibUpdateKernel!(lanes, Views, shape);
        }

        public void Merge(IbShape shape)
        {
            using var scope = backend.Enter();
            backend.Counters.Launch();
            backend.ibMergeKernel!(lanes, Views, shape);
        }

        public void CopyLane(int from, int to)
        {
            using var scope = backend.Enter();
            backend.Counters.DeviceCopy(4 * laneFloats);
            state.View.SubView(from * laneFloats, laneFloats).CopyTo(state.View.SubView(to * laneFloats, laneFloats));
        }

        public void ReadFlags(Span<int> destination)
        {
            using var scope = backend.Enter();
            backend.Download(flags.View, destination);
        }

        public void ReadState(Span<float> destination)
        {
            using var scope = backend.Enter();
            backend.Download(state.View, destination);
        }

        private unsafe void Copy<T>(ReadOnlySpan<T> data, ArrayView<T> view)
            where T : unmanaged
        {
            if (data.Length == 0)
                return;
            backend.Counters.Upload((long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
            fixed (T* pinned = data)
                view.SubView(0, data.Length).CopyFromCPU(ref *pinned, data.Length);
        }

        public void Dispose()
        {
            using var scope = backend.Enter();
            flags.Dispose();
            betas.Dispose();
            state.Dispose();
            problem.Dispose();
        }
    }
}
