using System.Globalization;
using InfoGpu.Distributed;
using InfoGpu.Host.Cli;
using InfoGpu.Training;

namespace InfoGpu.Host.Commands;

/// <summary>
/// The ranks' agreement to stop a run of an MPI job: before every step each rank gives whether it
/// got a signal, and all stop when any did (<see cref="Cluster.Max"/> of one int, the same on every
/// rank, so that all stop after the same step). A rank that got a signal but reaches no vote
/// within a grace time (<see cref="Grace"/>: a peer died and the collectives hang, or the run
/// ended before its next vote) ends the job as before: the last checkpoint on disk stays whole. Not thread-safe: the training thread votes.
/// </summary>
internal sealed class MpiStopVote : IDisposable
{
    private readonly Cluster cluster;
    private readonly StopSignals signals;
    private readonly CancellationTokenRegistration armed;
    private static Timer? watchdog;
    private volatile bool agreed;

    /// <summary>Listens to <paramref name="signals"/> for the ranks of <paramref name="cluster"/>.</summary>
    public MpiStopVote(Cluster cluster, StopSignals signals)
    {
        this.cluster = cluster;
        this.signals = signals;
        armed = signals.Token.Register(Arm);
    }

    /// <summary>
    /// How long a signalled rank waits for the ranks to agree before it ends the job: a second
    /// under the time the launcher leaves between its SIGTERM and its SIGKILL. Under mpirun that is
    /// the MCA parameter odls_base_sigkill_timeout (1 s unless raised, e.g. with
    /// <c>--mca odls_base_sigkill_timeout 30</c>: then no wait at all, the job ends at once as
    /// before); under Slurm its KillWait (30 s unless configured otherwise).
    /// </summary>
    public static TimeSpan Grace
    {
        get
        {
            string? v = Environment.GetEnvironmentVariable("OMPI_MCA_odls_base_sigkill_timeout");
            int seconds = int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int s) && s >= 1 ? Math.Min(s, 3600)
                : v is null && Environment.GetEnvironmentVariable("SLURM_STEP_ID") is not null ? 30 : 1;
            return TimeSpan.FromSeconds(seconds - 1);
        }
    }

    /// <summary>The collective vote: true on every rank when any rank got a signal.</summary>
    public bool Vote()
    {
        bool stop = cluster.Max(signals.Token.IsCancellationRequested ? 1 : 0) != 0;
        if (stop)
            Agreed();
        return stop;
    }

    /// <summary>The ranks agreed to stop (in this vote or in another collective call, e.g. a grid's vote after every step): the wait for them is called off.</summary>
    public void Agreed()
    {
        agreed = true;
        Interlocked.Exchange(ref watchdog, null)?.Dispose();
    }

    /// <summary>Stops listening; a wait already under way (a signal no vote has seen) goes on and ends the job when it runs out.</summary>
    public void Dispose() => armed.Dispose();

    private void Arm()
    {
        if (agreed)
            return;
        var grace = Grace;
        if (grace <= TimeSpan.Zero)
        {
            MpiEntry.Stopped(cluster);
            return;
        }
        // Held in a static field: a timer nothing refers to may be collected before it fires.
        var timer = new Timer(_ =>
        {
            if (!agreed)
                MpiEntry.Stopped(cluster);
        });
        Interlocked.Exchange(ref watchdog, timer)?.Dispose();
        timer.Change(grace, Timeout.InfiniteTimeSpan);
    }
}
