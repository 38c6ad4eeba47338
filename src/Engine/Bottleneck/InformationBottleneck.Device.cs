using InfoGpu.Devices;
using InfoGpu.Kernels;

namespace InfoGpu.Bottleneck;

public static partial class InformationBottleneck
{
    /// <summary>The tightest convergence tolerance of the float32 device path (float32 p(t|x) moves by rounding alone at about 1e-7).</summary>
    public const double SingleTolerance = 1e-6;

    /// <summary>
    /// The smallest merge tolerance of the float32 device path: below a critical beta the two
    /// halves of a split drift together slowly, and float32 iterations that stop at
    /// <see cref="SingleTolerance"/> leave their p(y|t) up to about 1e-5 apart.
    /// </summary>
    public const double SingleMergeTolerance = 1e-4;

    /// <summary>Iterations between two checks of the device path for lanes still iterating (one small download each).</summary>
    internal const int CheckEvery = 8;

    /// <summary>
    /// The same annealed solution on <paramref name="device"/> in float32: one lane per beta and
    /// one for the annealing ladder, advanced together (one launch per split, per self-consistent
    /// iteration and per merge, for every lane at once). The ladder lane walks the rungs; at each
    /// rung the betas that branch off there copy its state on the device and step in the same
    /// launches, so the ladder is walked once for all betas.
    /// The information of each point is then evaluated in float64 from the lane's encoder.
    /// </summary>
    /// <remarks>
    /// The lanes follow the host path exactly (the same ladder, the same seeded splits), so the
    /// points agree with <see cref="Solve(ReadOnlySpan{double}, int, int, InformationBottleneckOptions)"/>
    /// up to float32 rounding, except where float32 rounding tips a split or merge decision at a
    /// critical beta. The tolerance is at least <see cref="SingleTolerance"/> and the merge tolerance at least <see cref="SingleMergeTolerance"/>; a lane that has
    /// converged stops updating; the host checks every <see cref="CheckEvery"/> iterations
    /// whether any lane still iterates. Safe to call from several threads (the device serializes them).
    /// </remarks>
    /// <exception cref="InfoGpuException">A bad table or option: the message names it.</exception>
    public static InformationBottleneckResult Solve(ComputeDevice device, ReadOnlySpan<double> joint, int sizeX, int sizeY, InformationBottleneckOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        var problem = IbProblem.From(joint, sizeX, sizeY);
        int n = CheckOptions(options, sizeX);
        var betas = options.Betas.Order().ToArray();
        int lanes = betas.Length;
        var shape = new IbShape
        {
            Nx = sizeX,
            Ny = sizeY,
            N = n,
            Tolerance = (float)Math.Max(options.Tolerance, SingleTolerance),
            Perturbation = (float)options.Perturbation,
            MergeTolerance = (float)Math.Max(options.MergeTolerance, SingleMergeTolerance),
            DropThreshold = 1e-12f,
            SplitSpread = (float)SingleTolerance,
            UsedThreshold = (float)options.UsedThreshold,
            Seed = options.Seed,
        };
        if (shape.LaneFloats * (lanes + 1) > int.MaxValue / 2)
            throw new InfoGpuException($"information bottleneck: {lanes} betas of a {sizeX}x{sizeY} table with {n} clusters need too much device memory; give fewer betas or clusters");
        var data = new float[shape.ProblemFloats];
        int cells = sizeX * sizeY;
        for (int i = 0; i < cells; i++)
        {
            data[i] = (float)problem.Pxy[i];
            data[cells + sizeX + i] = (float)problem.PyGivenX[i];
            data[2 * cells + sizeX + i] = (float)problem.LogPyGivenX[i];
        }
        for (int x = 0; x < sizeX; x++)
            data[cells + x] = (float)problem.Px[x];

        // Lanes 0 .. B-1 hold the betas' solutions; lane B walks the ladder. At stage k the lanes of
        // the betas that branch off there take the ladder's state (a copy on the device) and step
        // at their own beta in the same launches as the ladder's rung: the ladder is walked once.
        int ladder = lanes;
        var laneBeta = new float[lanes + 1];
        var flags = new int[IbMath.FlagsPerLane * (lanes + 1)];
        var finalIterations = new int[lanes];
        var finalDone = new bool[lanes];
        int next = 0;
        using (var run = device.Backend.CreateIbLanes(data, shape, lanes + 1))
        {
            for (int k = 0; next < lanes; k++)
            {
                double rung = Rung(options, k);
                int first = next;
                while (next < lanes && betas[next] <= rung)
                    next++;
                Array.Clear(flags);
                Array.Clear(laneBeta);
                for (int i = first; i < next; i++)
                {
                    run.CopyLane(ladder, i);
                    flags[i * IbMath.FlagsPerLane + IbMath.Active] = 1;
                    laneBeta[i] = (float)betas[i];
                }
                if (next < lanes)
                {
                    flags[ladder * IbMath.FlagsPerLane + IbMath.Active] = 1;
                    laneBeta[ladder] = (float)rung;
                }
                run.BeginStage(laneBeta, flags);
                var s = shape;
                s.Stage = (ulong)k;
                run.Split(s);
                for (int it = 0; it < options.MaxIterations; it++)
                {
                    run.Update(s);
                    if ((it + 1) % CheckEvery == 0 || it + 1 == options.MaxIterations)
                    {
                        run.ReadFlags(flags);
                        bool pending = false;
                        for (int i = 0; i <= lanes && !pending; i++)
                            pending = flags[i * IbMath.FlagsPerLane + IbMath.Active] != 0 && flags[i * IbMath.FlagsPerLane + IbMath.Done] == 0;
                        if (!pending)
                            break;
                    }
                }
                run.Merge(s);
                if (next > first)
                {
                    run.ReadFlags(flags);
                    for (int i = first; i < next; i++)
                    {
                        finalIterations[i] = flags[i * IbMath.FlagsPerLane + IbMath.Iterations];
                        finalDone[i] = flags[i * IbMath.FlagsPerLane + IbMath.Done] != 0;
                    }
                }
            }
            var stateHost = new float[shape.LaneFloats * (lanes + 1)];
            run.ReadState(stateHost);
            var points = new InformationBottleneckPoint[lanes];
            for (int i = 0; i < lanes; i++)
            {
                var st = new IbState(problem, n);
                long offset = i * shape.LaneFloats;
                for (int x = 0; x < sizeX; x++)
                {
                    double sum = 0;
                    for (int t = 0; t < n; t++)
                        sum += stateHost[offset + x * n + t];
                    for (int t = 0; t < n; t++)
                        st.Q[x * n + t] = sum > 0 ? stateHost[offset + x * n + t] / sum : (t == 0 ? 1 : 0);
                }
                st.Marginals();
                int used = st.Pt.Count(p => p > options.UsedThreshold);
                points[i] = new InformationBottleneckPoint(betas[i], st.InformationXT(), st.InformationTY(), used, finalIterations[i], finalDone[i], (double[])st.Q.Clone());
            }
            return new InformationBottleneckResult(sizeX, sizeY, n, problem.InformationXY, problem.EntropyX, points, "single");
        }
    }
}
