using System.Globalization;

namespace InfoGpu.Distributed;

/// <summary>
/// The processes of this run: one (an ordinary run) or the ranks of an MPI job launched by
/// <c>mpirun</c>/<c>srun</c> on Open MPI. The engine touches MPI only when the environment says
/// the process was launched by MPI (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_SIZE, ...) or when
/// INFOGPU_MPI=1; INFOGPU_MPI=0 turns it off. Without MPI every collective call is a copy on
/// one rank, so code written against a <see cref="Cluster"/> runs unchanged in one process.
/// </summary>
/// <remarks>
/// Not thread-safe: MPI is initialized at its single-thread level, so one thread makes the calls;
/// every rank must make the same collective calls in the same order (as MPI requires).
/// <see cref="SumInRankOrder(Span{float})"/> adds the ranks' values in rank order on every rank,
/// so its result does not depend on how MPI would have grouped a reduction.
/// </remarks>
public sealed class Cluster
{
    /// <summary>The environment variable that asks for MPI (1) or forbids it (0) whatever the launcher.</summary>
    public const string EnvironmentSwitch = "INFOGPU_MPI";

    private static readonly string[] LauncherVariables = ["OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"];
    private static readonly Lazy<Cluster> Shared = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly MpiLibrary? mpi;
    private bool finished;

    private Cluster(MpiLibrary? mpi)
    {
        this.mpi = mpi;
        Rank = mpi?.Rank() ?? 0;
        Size = mpi?.Size() ?? 1;
    }

    /// <summary>
    /// This process's cluster, started on first use: MPI is initialized here when <see cref="Requested"/>
    /// says so (and finalized when the process exits), otherwise a single rank.
    /// </summary>
    /// <exception cref="InfoGpuException">MPI was asked for but Open MPI's library cannot be loaded or started.</exception>
    public static Cluster Current => Shared.Value;

    /// <summary>A cluster of this process alone, which never touches MPI (for code that must not take part in a job).</summary>
    public static Cluster Single { get; } = new(null);

    /// <summary>This process's rank, 0 .. <see cref="Size"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int Size { get; }

    /// <summary>Whether this process runs under MPI (even with one rank).</summary>
    public bool IsDistributed => mpi is not null;

    /// <summary>Whether this is rank 0, the rank that prints and writes files.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>"rank 1 of 3 (Open MPI, libmpi.so.40)", or "single process".</summary>
    public string Description => mpi is null
        ? "single process"
        : string.Create(CultureInfo.InvariantCulture, $"rank {Rank} of {Size} (Open MPI, {mpi.Name})");

    /// <summary>
    /// Whether the environment asks for MPI: INFOGPU_MPI=1, or a launcher's variables
    /// (Open MPI's OMPI_COMM_WORLD_SIZE, PMIx's PMIX_RANK, Slurm's PMI_SIZE) without INFOGPU_MPI=0.
    /// </summary>
    /// <param name="environment">The variables to look at (null: this process's).</param>
    public static bool Requested(IReadOnlyDictionary<string, string?>? environment = null)
    {
        string? Get(string name) => environment is null ? Environment.GetEnvironmentVariable(name) : environment.GetValueOrDefault(name);
        string? sw = Get(EnvironmentSwitch);
        if (sw is "0" or "false" or "no")
            return false;
        if (sw is "1" or "true" or "yes")
            return true;
        return LauncherVariables.Any(v => !string.IsNullOrEmpty(Get(v)));
    }

    /// <summary>
    /// The contiguous share of <paramref name="total"/> items that part <paramref name="index"/> of
    /// <paramref name="parts"/> takes: items [total * index / parts, total * (index + 1) / parts).
    /// Every rank and the sharded single-process paths split work this way.
    /// </summary>
    public static (int Start, int Count) ShareOf(int total, int parts, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        if (index < 0 || index >= parts)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the part must be in [0, {parts})");
        long start = (long)total * index / parts, end = (long)total * (index + 1) / parts;
        return ((int)start, (int)(end - start));
    }

    private static Cluster Start()
    {
        if (!Requested())
            return Single;
        var mpi = MpiLibrary.Load();
        if (!mpi.IsInitialized())
            mpi.Init();
        var cluster = new Cluster(mpi);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Finish();
        return cluster;
    }

    /// <summary>
    /// Ends MPI in this process (MPI_Finalize; every rank must call it); later collective calls
    /// throw. Called when the process exits; nothing happens in a single process or a second time.
    /// </summary>
    public void Finish()
    {
        if (mpi is null || finished)
            return;
        finished = true;
        if (!mpi.IsFinalized())
            mpi.Shutdown();
    }

    /// <summary>
    /// Ends the whole job at once (MPI_Abort: every rank stops; mpirun exits with <paramref name="code"/>).
    /// In a single process, exits the process with the code.
    /// </summary>
    public void Abort(int code)
    {
        if (mpi is null || finished)
            Environment.Exit(code);
        mpi.Abort(code);
        Environment.Exit(code);
    }

    /// <summary>Waits until every rank has called it.</summary>
    public void Barrier() => Live()?.Barrier();

    /// <summary>
    /// Every rank's <paramref name="local"/> values, rank after rank, into <paramref name="all"/>
    /// (<see cref="Size"/> times as long) on every rank.
    /// </summary>
    public unsafe void AllGather(ReadOnlySpan<float> local, Span<float> all)
    {
        CheckGather(local.Length, all.Length);
        if (local.Overlaps(all))
            throw new ArgumentException("the local values and the gathered buffer overlap; give separate buffers", nameof(all));
        if (Live() is not MpiLibrary m)
        {
            local.CopyTo(all);
            return;
        }
        fixed (float* s = local)
        fixed (float* r = all)
            m.Allgather(s, local.Length, m.Float, r);
    }

    /// <summary>Every rank's <paramref name="local"/> values, rank after rank, into <paramref name="all"/> on every rank.</summary>
    public unsafe void AllGather(ReadOnlySpan<double> local, Span<double> all)
    {
        CheckGather(local.Length, all.Length);
        if (local.Overlaps(all))
            throw new ArgumentException("the local values and the gathered buffer overlap; give separate buffers", nameof(all));
        if (Live() is not MpiLibrary m)
        {
            local.CopyTo(all);
            return;
        }
        fixed (double* s = local)
        fixed (double* r = all)
            m.Allgather(s, local.Length, m.Double, r);
    }

    /// <summary>
    /// Replaces <paramref name="values"/> on every rank by the sum over ranks, added in rank order
    /// in float32: ((x_0 + x_1) + x_2) + ... . Every rank gets the same bits, and the result is the
    /// one a single process gets by adding the same partial sums in that order.
    /// </summary>
    /// <remarks>Gathers every rank's values (MPI_Allgather), so it moves Size times the data of a reduction; the price of a fixed order.</remarks>
    public void SumInRankOrder(Span<float> values)
    {
        if (Size == 1)
            return;
        var all = new float[(long)values.Length * Size];
        AllGather(values, all);
        values.Clear();
        AddInOrder(all, values, Size);
    }

    /// <summary>The same as <see cref="SumInRankOrder(Span{float})"/> in float64.</summary>
    public void SumInRankOrder(Span<double> values)
    {
        if (Size == 1)
            return;
        var all = new double[(long)values.Length * Size];
        AllGather(values, all);
        values.Clear();
        for (int r = 0; r < Size; r++)
        {
            var part = all.AsSpan(r * values.Length, values.Length);
            for (int i = 0; i < values.Length; i++)
                values[i] = r == 0 ? part[i] : values[i] + part[i];
        }
    }

    /// <summary>
    /// Adds <paramref name="parts"/> equal slices of <paramref name="all"/> in order into
    /// <paramref name="sum"/>: sum = ((s_0 + s_1) + s_2) + ... in float32. The one place where the
    /// ranks' (or shards') partial sums are combined, so that a single process adding its shards
    /// and a job adding its ranks' values do the same operations.
    /// </summary>
    public static void AddInOrder(ReadOnlySpan<float> all, Span<float> sum, int parts)
    {
        if (all.Length != (long)sum.Length * parts)
            throw new ArgumentException($"{all.Length} values are not {parts} slices of {sum.Length}", nameof(all));
        all[..sum.Length].CopyTo(sum);
        for (int r = 1; r < parts; r++)
        {
            var part = all.Slice(r * sum.Length, sum.Length);
            for (int i = 0; i < sum.Length; i++)
                sum[i] += part[i];
        }
    }

    /// <summary>
    /// Sums <paramref name="values"/> over the ranks with MPI_Allreduce, in place on every rank. The
    /// order of the additions is MPI's (it may differ between runs and rank counts): use
    /// <see cref="SumInRankOrder(Span{float})"/> where bits are compared.
    /// </summary>
    public unsafe void AllReduceSum(Span<float> values)
    {
        if (Live() is not MpiLibrary m)
            return;
        var copy = values.ToArray();
        fixed (float* s = copy)
        fixed (float* r = values)
            m.Allreduce(s, r, values.Length, m.Float, m.Sum);
    }

    /// <summary>Sums <paramref name="values"/> over the ranks with MPI_Allreduce (MPI's order), in place on every rank.</summary>
    public unsafe void AllReduceSum(Span<double> values)
    {
        if (Live() is not MpiLibrary m)
            return;
        var copy = values.ToArray();
        fixed (double* s = copy)
        fixed (double* r = values)
            m.Allreduce(s, r, values.Length, m.Double, m.Sum);
    }

    /// <summary>The largest of the ranks' <paramref name="value"/>s, on every rank.</summary>
    public unsafe int Max(int value)
    {
        if (Live() is not MpiLibrary m)
            return value;
        int result;
        m.Allreduce(&value, &result, 1, m.Int, m.Max);
        return result;
    }

    /// <summary>Overwrites <paramref name="buffer"/> on every rank with rank <paramref name="root"/>'s.</summary>
    public unsafe void Broadcast(Span<byte> buffer, int root = 0)
    {
        CheckRoot(root);
        if (Live() is not MpiLibrary m)
            return;
        fixed (byte* p = buffer)
            m.Broadcast(p, buffer.Length, m.Byte, root);
    }

    /// <summary>Overwrites <paramref name="buffer"/> on every rank with rank <paramref name="root"/>'s.</summary>
    public unsafe void Broadcast(Span<float> buffer, int root = 0)
    {
        CheckRoot(root);
        if (Live() is not MpiLibrary m)
            return;
        fixed (float* p = buffer)
            m.Broadcast(p, buffer.Length, m.Float, root);
    }

    /// <summary>
    /// Every rank's <paramref name="local"/> bytes, gathered on rank <paramref name="root"/> (one array
    /// per rank, in rank order); null on the other ranks.
    /// </summary>
    public unsafe byte[][]? Gather(ReadOnlySpan<byte> local, int root = 0)
    {
        CheckRoot(root);
        if (Live() is not MpiLibrary m)
            return [local.ToArray()];
        // Lengths travel as exact integers in float64 (an all-gather of one value per rank).
        var mine = new double[] { local.Length };
        var all = new double[Size];
        AllGather(mine, all);
        var counts = all.Select(v => checked((int)v)).ToArray();
        var displacements = new int[Size];
        long total = 0;
        for (int r = 0; r < Size; r++)
        {
            displacements[r] = checked((int)total);
            total += counts[r];
        }
        var receive = new byte[Rank == root ? checked((int)total) : 0];
        fixed (byte* s = local)
        fixed (byte* rv = receive)
        fixed (int* c = counts)
        fixed (int* d = displacements)
            m.Gatherv(s, local.Length, rv, c, d, root);
        if (Rank != root)
            return null;
        return Enumerable.Range(0, Size).Select(r => receive.AsSpan(displacements[r], counts[r]).ToArray()).ToArray();
    }

    private MpiLibrary? Live() => finished ? throw new InvalidOperationException("MPI was finalized: no collective calls after Cluster.Finish") : mpi;

    private void CheckRoot(int root)
    {
        if (root < 0 || root >= Size)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"the root must be a rank in [0, {Size})");
    }

    private void CheckGather(int local, int all)
    {
        // (The spans' overlap is checked by the callers: MPI needs distinct send and receive buffers.)
        if ((long)local * Size != all)
            throw new ArgumentException($"the gathered buffer holds {all} values; {Size} ranks of {local} need {(long)local * Size}");
    }
}
