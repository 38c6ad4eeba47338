using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public IIbLanes CreateIbLanes(ReadOnlySpan<float> problem, IbShape shape, int lanes) => new CpuIbLanes(this, problem, shape, lanes);

    private sealed class CpuIbLanes : IIbLanes
    {
        private readonly CpuBackend backend;
        private readonly IbArrays memory;
        private readonly float[] state;
        private readonly float[] betas;
        private readonly int[] flags;
        private readonly int lanes;
        private readonly long laneFloats;

        public CpuIbLanes(CpuBackend backend, ReadOnlySpan<float> problem, IbShape shape, int lanes)
        {
            this.backend = backend;
            this.lanes = lanes;
            laneFloats = shape.LaneFloats;
            state = new float[shape.LaneFloats * lanes];
            for (int lane = 0; lane < lanes; lane++)
            {
                for (int x = 0; x < shape.Nx; x++)
                    state[lane * shape.LaneFloats + (long)x * shape.N] = 1f;
            }
            betas = new float[lanes];
            flags = new int[IbMath.FlagsPerLane * lanes];
            memory = new IbArrays(problem.ToArray(), state, betas, flags);
            backend.Counters.Allocation(4L * (state.Length + betas.Length + flags.Length + problem.Length));
        }

        public void BeginStage(ReadOnlySpan<float> b, ReadOnlySpan<int> f)
        {
            b.CopyTo(betas);
            f.CopyTo(flags);
        }

        public void Split(IbShape shape)
        {
            backend.Counters.Launch();
            CpuIbKernels.Split(memory, lanes, shape);
        }

        public void Update(IbShape shape)
        {
            backend.Counters.Launch();
            CpuIbKernels.Update(memory, lanes, shape);
        }

        public void Merge(IbShape shape)
        {
            backend.Counters.Launch();
            CpuIbKernels.Merge(memory, lanes, shape);
        }

        public void CopyLane(int from, int to)
        {
            backend.Counters.DeviceCopy(4 * laneFloats);
            Array.Copy(state, from * laneFloats, state, to * laneFloats, laneFloats);
        }

        public void ReadFlags(Span<int> destination) => flags.CopyTo(destination);

        public void ReadState(Span<float> destination) => state.CopyTo(destination);

        public void Dispose()
        {
        }
    }
}
