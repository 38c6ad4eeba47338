using System.Runtime.InteropServices;

namespace InfoGpu.Distributed;

/// <summary>
/// The few calls of the MPI C API the engine uses, bound at run time to Open MPI's libmpi.so.40
/// (loaded with RTLD_GLOBAL, as Open MPI's plug-ins need). Open MPI's handles (MPI_COMM_WORLD,
/// MPI_FLOAT, MPI_SUM, ...) are the addresses of its exported objects (ompi_mpi_comm_world, ...).
/// </summary>
/// <remarks>Not thread-safe: MPI is initialized at the single-thread level; one thread talks to it.</remarks>
internal sealed unsafe class MpiLibrary
{
    private const int RtldNow = 2;
    private const int RtldGlobal = 0x100;
    private const int MpiSuccess = 0;

    /// <summary>The library names tried in turn.</summary>
    internal static readonly string[] Names = ["libmpi.so.40", "libmpi.so"];

    private readonly delegate* unmanaged<int*, nint, int> init;
    private readonly delegate* unmanaged<int*, int> initialized;
    private readonly delegate* unmanaged<int*, int> finalized;
    private readonly delegate* unmanaged<int> finalize;
    private readonly delegate* unmanaged<nint, int*, int> commRank;
    private readonly delegate* unmanaged<nint, int*, int> commSize;
    private readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> allgather;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> allreduce;
    private readonly delegate* unmanaged<void*, int, nint, int, nint, int> bcast;
    private readonly delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, int, nint, int> gatherv;
    private readonly delegate* unmanaged<nint, int> barrier;
    private readonly delegate* unmanaged<nint, int, int> abort;

    private MpiLibrary(nint handle, string name)
    {
        Name = name;
        nint F(string symbol) => NativeLibrary.TryGetExport(handle, symbol, out nint p)
            ? p
            : throw new InfoGpuException($"{name} has no symbol {symbol}: it is not Open MPI's library; install Open MPI (openmpi-bin, libopenmpi-dev)");
        init = (delegate* unmanaged<int*, nint, int>)F("MPI_Init");
        initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        commRank = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_rank");
        commSize = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_size");
        allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)F("MPI_Allgather");
        allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)F("MPI_Allreduce");
        bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)F("MPI_Bcast");
        gatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, int, nint, int>)F("MPI_Gatherv");
        barrier = (delegate* unmanaged<nint, int>)F("MPI_Barrier");
        abort = (delegate* unmanaged<nint, int, int>)F("MPI_Abort");
        World = F("ompi_mpi_comm_world");
        Float = F("ompi_mpi_float");
        Double = F("ompi_mpi_double");
        Int = F("ompi_mpi_int");
        Byte = F("ompi_mpi_byte");
        Sum = F("ompi_mpi_op_sum");
        Max = F("ompi_mpi_op_max");
    }

    /// <summary>The file loaded.</summary>
    public string Name { get; }

    /// <summary>MPI_COMM_WORLD.</summary>
    public nint World { get; }

    /// <summary>MPI_FLOAT.</summary>
    public nint Float { get; }

    /// <summary>MPI_DOUBLE.</summary>
    public nint Double { get; }

    /// <summary>MPI_INT.</summary>
    public nint Int { get; }

    /// <summary>MPI_BYTE.</summary>
    public nint Byte { get; }

    /// <summary>MPI_SUM.</summary>
    public nint Sum { get; }

    /// <summary>MPI_MAX.</summary>
    public nint Max { get; }

    [DllImport("libc.so.6", EntryPoint = "dlopen")]
    private static extern nint DlOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int flags);

    /// <summary>Loads Open MPI's library, or throws saying how to install it.</summary>
    public static MpiLibrary Load()
    {
        if (!OperatingSystem.IsLinux())
            throw new InfoGpuException("MPI runs are supported on Linux with Open MPI only");
        foreach (string name in Names)
        {
            nint handle = DlOpen(name, RtldNow | RtldGlobal);
            if (handle != 0)
                return new MpiLibrary(handle, name);
        }
        throw new InfoGpuException($"this run was asked to use MPI (launched by mpirun/srun, or INFOGPU_MPI=1) but {Names[0]} cannot be loaded; install Open MPI (openmpi-bin, libopenmpi-dev) or run without mpirun and with INFOGPU_MPI unset");
    }

    private static void Check(int rc, string call)
    {
        if (rc != MpiSuccess)
            throw new InfoGpuException($"MPI: {call} failed with error code {rc}");
    }

    public bool IsInitialized()
    {
        int flag;
        Check(initialized(&flag), "MPI_Initialized");
        return flag != 0;
    }

    public bool IsFinalized()
    {
        int flag;
        Check(finalized(&flag), "MPI_Finalized");
        return flag != 0;
    }

    public void Init() => Check(init(null, 0), "MPI_Init");

    public void Shutdown() => Check(finalize(), "MPI_Finalize");

    public int Rank()
    {
        int r;
        Check(commRank(World, &r), "MPI_Comm_rank");
        return r;
    }

    public int Size()
    {
        int s;
        Check(commSize(World, &s), "MPI_Comm_size");
        return s;
    }

    public void Allgather(void* send, int count, nint type, void* receive) =>
        Check(allgather(send, count, type, receive, count, type, World), "MPI_Allgather");

    public void Allreduce(void* send, void* receive, int count, nint type, nint op) =>
        Check(allreduce(send, receive, count, type, op, World), "MPI_Allreduce");

    public void Broadcast(void* buffer, int count, nint type, int root) =>
        Check(bcast(buffer, count, type, root, World), "MPI_Bcast");

    public void Gatherv(void* send, int count, void* receive, int* counts, int* displacements, int root) =>
        Check(gatherv(send, count, Byte, receive, counts, displacements, Byte, root, World), "MPI_Gatherv");

    public void Barrier() => Check(barrier(World), "MPI_Barrier");

    public void Abort(int code) => abort(World, code);
}
