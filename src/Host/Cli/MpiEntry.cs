using System.Globalization;
using System.Runtime.InteropServices;
using InfoGpu.Distributed;
using InfoGpu.Host.Commands;

namespace InfoGpu.Host.Cli;

/// <summary>
/// The process's entry: an ordinary run, or one rank of an MPI job when the environment says so
/// (<see cref="Cluster.Requested"/>). Under MPI only rank 0 prints; a rank that fails ends the
/// whole job (MPI_Abort), since the others may be waiting for it in a collective call.
/// </summary>
internal static class MpiEntry
{
    /// <summary>How long a failed rank other than 0 waits before it reports and ends the job, so that rank 0's own report of a shared error comes first and alone.</summary>
    private static readonly TimeSpan OtherRankGrace = TimeSpan.FromSeconds(3);

    /// <summary>The longest a stopped rank 0 waits for a grid's set of checkpoints under way to be written.</summary>
    private static readonly TimeSpan GridWriteWait = TimeSpan.FromSeconds(10);

    public static int Run(string[] args)
    {
        if (!Cluster.Requested())
            return CommandLine.Run(args, Console.Out, Console.Error);
        Cluster cluster;
        try
        {
            cluster = Cluster.Current;
        }
        catch (InfoGpuException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        var err = cluster.IsRoot ? Console.Error : new StringWriter(CultureInfo.InvariantCulture);
        // mpirun stops the other ranks with SIGTERM when one dies (or when it is interrupted): rank 0
        // says so and every rank leaves at once, without MPI_Finalize (a peer is gone; files are
        // written to temporary names and renamed, so the last checkpoint on disk stays whole).
        // While a training run is under way its ranks vote to stop together instead (SessionRunner),
        // and end the job so only when they cannot agree in time.
        using var term = cluster.Size > 1 ? PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ =>
        {
            if (SessionRunner.Voting is null)
                Stopped(cluster);
        }) : null;
        int code = CommandLine.Run(args, cluster.IsRoot ? Console.Out : TextWriter.Null, err, cluster);
        // Usage errors (2) come from the arguments, before any collective call, the same on every
        // rank: the ranks end together. Other failures may strike one rank while the others wait.
        // A run the ranks stopped together on a signal (130, 143) ends together as well.
        if (code is 0 or 2 || cluster.Size == 1 || SessionRunner.StoppedTogether)
        {
            cluster.Finish();
            return code;
        }
        if (!cluster.IsRoot)
        {
            Thread.Sleep(OtherRankGrace);
            string what = err.ToString()!.Trim();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {cluster.Rank} of {cluster.Size}: {(what.Length > 0 ? what : $"exit code {code}")}; ending the job"));
        }
        Console.Out.Flush();
        Console.Error.Flush();
        cluster.Abort(code);
        return code;
    }

    /// <summary>Ends this rank at once with 143 (rank 0 says the job was stopped and that the last checkpoint resumes).</summary>
    internal static void Stopped(Cluster cluster)
    {
        // A grid's rank 0 first ends the set of checkpoints it is writing (then every model's last
        // checkpoint is of one step, and the grid resumes); it never waits long for it.
        Monitor.TryEnter(SessionRunner.GridWrites, GridWriteWait);
        if (cluster.IsRoot)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"error: the MPI job of {cluster.Size} ranks was stopped (a rank failed, or mpirun was interrupted); a run's last checkpoint stays whole: continue it with --resume DIR"));
            Console.Error.Flush();
        }
        ExitNow(143);
    }

    [DllImport("libc.so.6", EntryPoint = "_exit")]
    private static extern void ExitNow(int code);
}
