using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Checkpoints;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Training;

namespace InfoGpu.Host.Commands;

/// <summary>What every train command shares: run the engine's session with the process's stop signals, and say how it ended.</summary>
internal static class SessionRunner
{
    /// <summary>
    /// Runs <paramref name="session"/> until done or until Ctrl-C/SIGTERM; returns the exit code
    /// (0, or 130/143 after an interruption, with the checkpoint and how to resume on stderr).
    /// Under MPI with several ranks the ranks vote before every step (an all-reduce of one int):
    /// a signal on any rank stops them all after the same step, rank 0 writes the checkpoint, and
    /// every rank returns the same code (<see cref="StoppedTogether"/> is then set).
    /// </summary>
    /// <param name="context">Where to write.</param>
    /// <param name="session">The session, with its epoch callback already attached (built with <see cref="Options"/>, which gives it the vote under MPI).</param>
    /// <param name="command">The train command, for the resume hint ("rbm train").</param>
    /// <param name="outDir">The run's folder (null: nothing is saved).</param>
    public static int Run<TMetrics>(CommandContext context, TrainingSession<TMetrics> session, string command, string? outDir)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        var cluster = context.Cluster;
        bool together = cluster.IsDistributed && cluster.Size > 1;
        using var stop = new StopSignals();
        TrainingStop stopped;
        if (together)
        {
            using var vote = new MpiStopVote(cluster, stop);
            Voting = vote;
            try
            {
                // The ranks stop only where they all voted to: the token alone would part them.
                stopped = session.Run(CancellationToken.None);
            }
            finally
            {
                Voting = null;
            }
        }
        else
        {
            stopped = session.Run(stop.Token);
        }
        if (stopped == TrainingStop.Completed)
            return 0;
        int code = stop.ExitCode;
        if (together)
        {
            // Every rank returned here after the same step: the code of the signal any rank got.
            code = cluster.Max(stop.Signal is null ? 0 : stop.ExitCode);
            code = code == 0 ? 130 : code;
            StoppedTogether = true;
        }
        var t = session.Trainer;
        string where = string.Create(CultureInfo.InvariantCulture, $"interrupted in epoch {t.Epoch + 1} after step {t.StepInEpoch} ({t.Step} updates done)");
        if (session.CheckpointPath is null)
        {
            context.Err.WriteLine($"{where}; nothing saved (give --out DIR to checkpoint)");
        }
        else
        {
            string program = together ? string.Create(CultureInfo.InvariantCulture, $"mpirun -np {cluster.Size} {ProgramName(mpi: true)}") : ProgramName();
            context.Err.WriteLine($"{where}; checkpoint written to {session.CheckpointPath}");
            context.Err.WriteLine($"resume with: {program} {command} --resume {outDir}");
        }
        return code;
    }

    /// <summary>True once the ranks of an MPI job stopped a run together (on a signal, or a grid's failure that every rank learned at once): they end together, as after a completed run.</summary>
    public static bool StoppedTogether { get; private set; }

    /// <summary>Held by rank 0 of a grid's MPI job while it writes a set of checkpoints; <see cref="MpiEntry"/> takes it before ending the process on a stop.</summary>
    internal static object GridWrites { get; } = new();

    /// <summary>The vote of the MPI run under way (null: none): the process's SIGTERM handler leaves a signal to it.</summary>
    internal static MpiStopVote? Voting { get; private set; }

    /// <summary>
    /// What <c>rbm train</c> and <c>vae train</c> grids share: one session per model of this process
    /// (<paramref name="trainers"/> are models <paramref name="first"/> on), the grid in one process
    /// (<see cref="ModelGrid{TMetrics}"/>) or dealt to the MPI ranks (<see cref="DistributedGrid{TMetrics}"/>,
    /// rank 0 then holding every model's session), stepped as <c>--grid-step</c> asks, the note on
    /// whether it is fused, and the run with the index written before and after. Returns the exit
    /// code, the sessions this process holds, whether the steps are fused, and the distributed grid
    /// (for the states of other ranks' models), or null in one process.
    /// </summary>
    public static (int Code, IReadOnlyList<TrainingSession<TMetrics>> Sessions, bool Fused, DistributedGrid<TMetrics>? Spread) TrainGrid<TMetrics>(
        CommandContext context, string command, IReadOnlyList<ITrainer<TMetrics>> trainers, int first, List<TensorSet>? resumedFrom, IReadOnlyList<GridModel> models,
        string outDir, JsonObject config, int epochs, int checkpointEvery, Dictionary<string, string> metadata, Action<int, TMetrics> note)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        TrainingSession<TMetrics> Session(int i, ITrainer<TMetrics> trainer)
        {
            // A grid writes its models' checkpoints one after another: each keeps its previous one,
            // so that a kill between two leaves a set that --resume finds whole (ReadGridCheckpoints).
            var sessionOptions = Options(context, epochs, Path.Combine(outDir, models[i].Folder), checkpointEvery, metadata) with { KeepPreviousCheckpoint = true };
            return new TrainingSession<TMetrics>(trainer, i == 0 ? sessionOptions : sessionOptions with { Progress = null }, resumedFrom?[i]);
        }

        var local = trainers.Select((t, k) => Session(first + k, t)).ToList();
        string[] names = [.. models.Select(m => m.Folder)];
        var stepping = GridOption.ParseStepping(context.Args, grid: true);
        DistributedGrid<TMetrics>? spread = null;
        ModelGrid<TMetrics>? grid = null;
        try
        {
            if (SpreadsGrid(context))
                spread = new DistributedGrid<TMetrics>(context.Cluster, names, local, Session, stepping);
            else
                grid = new ModelGrid<TMetrics>(local, names, stepping);
        }
        catch (ArgumentException e)
        {
            throw new InfoGpuException($"{outDir}: {e.Message.Split(" (Parameter")[0]}");
        }
        IReadOnlyList<TrainingSession<TMetrics>> sessions = spread?.Sessions ?? local;
        bool fused = spread?.Fused ?? grid!.Fused;
        context.Note(GridOption.FusionNote(fused, spread is not null ? spread.NotFusedReason : grid!.NotFusedReason, local.Count));
        Action writeIndex = () => GridOption.WriteIndex(outDir, GridOption.Index(command, outDir, config, models, sessions, fused));
        int code;
        if (spread is not null)
        {
            spread.EpochCompleted += note;
            code = RunGrid(context, spread, command, outDir, writeIndex);
        }
        else
        {
            grid!.EpochCompleted += note;
            code = RunGrid(context, grid, command, outDir, writeIndex);
        }
        return (code, sessions, fused, spread);
    }

    /// <summary>
    /// Runs a grid of models (<c>--seeds</c>/<c>--grid</c>) until done or until Ctrl-C/SIGTERM, as
    /// <see cref="Run"/> does for one; <paramref name="writeIndex"/> writes the grid's index, also
    /// after an interruption (with the epochs done so far). Returns the exit code.
    /// </summary>
    public static int RunGrid<TMetrics>(CommandContext context, ModelGrid<TMetrics> grid, string command, string outDir, Action writeIndex)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        using var stop = new StopSignals();
        // The index first: a run killed before its end leaves a grid that --resume continues.
        writeIndex();
        var stopped = grid.Run(stop.Token);
        writeIndex();
        if (stopped == TrainingStop.Completed)
            return 0;
        var t = grid.Sessions[0].Trainer;
        context.Err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"interrupted in epoch {t.Epoch + 1} after step {t.StepInEpoch} ({t.Step} updates done); every model's checkpoint written under {outDir}"));
        context.Err.WriteLine($"resume with: {ProgramName()} {command} --resume {outDir}");
        return stop.ExitCode;
    }

    /// <summary>
    /// The checkpoints of a grid's models at the last step every model reached
    /// (<see cref="TrainingSession.ReadGridCheckpoints"/>), with a note for each model that continues
    /// from its previous checkpoint because the grid was stopped while writing a set of them.
    /// </summary>
    public static List<TensorSet> ReadGridCheckpoints(CommandContext context, string dir, IReadOnlyList<GridModel> models, string format, string what, string writer)
    {
        var (checkpoints, fromPrevious) = TrainingSession.ReadGridCheckpoints([.. models.Select(m => Path.Combine(dir, m.Folder))], format, what, writer);
        foreach (int i in fromPrevious)
            context.Note($"{models[i].Folder}: continues from its previous checkpoint ({TrainingSession.PreviousCheckpointFile}), where every model of the grid was: the grid was stopped while writing its models' checkpoints");
        return [.. checkpoints];
    }

    /// <summary>Whether a grid is dealt to the ranks of an MPI job: under mpirun with several ranks.</summary>
    public static bool SpreadsGrid(CommandContext context) => context.Cluster.IsDistributed && context.Cluster.Size > 1;

    /// <summary>
    /// The models of a grid of <paramref name="models"/> that this process trains: all of them in
    /// one process; under mpirun with several ranks, this rank's contiguous block
    /// (<see cref="DistributedGrid.Share"/>). Usage errors (the same on every rank) for
    /// <c>--shards</c>, which a grid does not take, and for more ranks than models.
    /// </summary>
    public static (int First, int Count) GridShare(CommandContext context, int models)
    {
        var a = context.Args;
        if (a.Has("shards") && a.GetInt("shards", 1) != 1)
            throw new UsageException("--seeds and --grid train whole models, never a model split into shards (under mpirun the models are dealt to the ranks): leave out --shards");
        if (!SpreadsGrid(context))
            return (0, models);
        var cluster = context.Cluster;
        if (models < cluster.Size)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"the grid has {models} models for {cluster.Size} MPI ranks: every rank trains at least one model; launch it with mpirun -np {models} or fewer"));
        return DistributedGrid.Share(models, cluster.Size, cluster.Rank);
    }

    /// <summary>
    /// Runs a grid dealt to the ranks of an MPI job until done or until Ctrl-C/SIGTERM on any rank
    /// (the ranks vote after every step, and all stop after the same one). Rank 0 writes the index (before
    /// the run, so that a killed job leaves a grid that --resume continues, and after it) and says how
    /// an interrupted grid resumes. A divergence or a failure to write is agreed by every rank: all
    /// end together, rank 0 with the one-line error. Returns the exit code, the same on every rank.
    /// </summary>
    public static int RunGrid<TMetrics>(CommandContext context, DistributedGrid<TMetrics> grid, string command, string outDir, Action writeIndex)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        var cluster = context.Cluster;
        grid.WriteGate = GridWrites;
        using var stop = new StopSignals();
        TrainingStop stopped;
        using (var vote = new MpiStopVote(cluster, stop))
        {
            Voting = vote;
            grid.StopAgreed = vote.Agreed;
            try
            {
                // Every rank has checked the folder (no grid.json there unless --overwrite) before rank 0 writes the index.
                cluster.Barrier();
                if (cluster.IsRoot)
                    writeIndex();
                // A signal on this rank is its vote after the next step: the ranks stop together.
                stopped = grid.Run(stop.Token);
            }
            catch (InfoGpuException) when (grid.EndedTogether)
            {
                StoppedTogether = true;
                throw;
            }
            finally
            {
                Voting = null;
            }
        }
        if (cluster.IsRoot)
            writeIndex();
        if (stopped == TrainingStop.Completed)
            return 0;
        int code = cluster.Max(stop.Signal is null ? 0 : stop.ExitCode);
        StoppedTogether = true;
        var t = grid.Sessions[0].Trainer;
        context.Err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"interrupted in epoch {t.Epoch + 1} after step {t.StepInEpoch} ({t.Step} updates done); every model's checkpoint written under {outDir}"));
        context.Err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resume with: mpirun -np {cluster.Size} {ProgramName(mpi: true)} {command} --resume {outDir} (or with any other number of ranks, or in one process)"));
        return code == 0 ? 130 : code;
    }

    /// <summary>
    /// On <c>--resume</c> the run keeps its settings: refuses every flag of <paramref name="fixedFlags"/>
    /// that was given (a usage error naming them, before any data is read), and returns the new
    /// learning rate of <c>--lr</c>, if given, for <see cref="ApplyLearningRate"/>.
    /// </summary>
    public static double? CheckResumeFlags(CommandContext context, string[] fixedFlags)
    {
        var a = context.Args;
        var given = fixedFlags.Where(a.Has).Select(f => "--" + f).ToList();
        if (given.Count > 0)
            throw new UsageException($"{string.Join(", ", given)} cannot change on --resume: the run keeps its settings (only --epochs, --lr and --checkpoint-every may change); start a new run with --out DIR to use other settings");
        if (!a.Has("lr"))
            return null;
        double lr = a.GetDouble("lr");
        return lr > 0 && double.IsFinite(lr) ? lr : throw new UsageException($"--lr must be a positive number (got {lr.ToString(CultureInfo.InvariantCulture)})");
    }

    /// <summary>Gives a resumed trainer the learning rate of <c>--lr</c> (the checkpoint then records it), with a note.</summary>
    public static void ApplyLearningRate(CommandContext context, double? lr, ITrainer trainer)
    {
        if (lr is not double v)
            return;
        context.Note(string.Create(CultureInfo.InvariantCulture, $"learning rate {trainer.LearningRate} -> {v} from step {trainer.Step + 1} on (recorded in the checkpoint)"));
        trainer.LearningRate = v;
    }

    /// <summary>
    /// The session settings every train command gives: target, folder, checkpoint interval,
    /// --overwrite, the progress bar, and metadata. Under MPI with several ranks the session votes
    /// with the other ranks before every step, so every rank must run it: a command that uses it
    /// must be an <see cref="IDistributedCommand"/> (the others run on rank 0 alone).
    /// </summary>
    public static TrainingSessionOptions Options(CommandContext context, int epochs, string? outDir, int checkpointEvery, Dictionary<string, string> metadata) => new()
    {
        Epochs = epochs,
        Directory = outDir,
        CheckpointEvery = checkpointEvery,
        Overwrite = context.Args.Has("overwrite"),
        WriteFiles = context.Cluster.IsRoot,
        Progress = Progress(context),
        Metadata = metadata,
        StopVote = context.Cluster.IsDistributed && context.Cluster.Size > 1 ? () => Voting?.Vote() ?? false : null,
    };

    /// <summary>Where an image run's data came from, kept in its checkpoints so that --resume finds the same data.</summary>
    public static Dictionary<string, string> DataMetadata(string? dataDir, int? limit, string description) => new()
    {
        ["data_dir"] = dataDir ?? "",
        ["limit"] = limit?.ToString(CultureInfo.InvariantCulture) ?? "",
        ["data"] = description,
    };

    /// <summary>An image run's data must have held-out images: its per-epoch monitors (and test loss) are computed on them, and on no other images.</summary>
    public static void RequireTestImages(InfoGpu.Data.Dataset data)
    {
        if (data.Train.Count == 0)
            throw new InfoGpuException($"{data.Description}: no training images");
        if (data.Test.Count == 0)
            throw new InfoGpuException($"{data.Description}: no test images (t10k-images-idx3-ubyte is empty); the per-epoch monitors and the test loss need held-out images");
    }

    /// <summary>A non-empty metadata value of a checkpoint (null when absent, empty, or no checkpoint).</summary>
    public static string? Stored(TensorSet? checkpoint, string key) =>
        checkpoint is not null && checkpoint.Metadata.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    /// <summary>The image limit a checkpoint's run used (null: none).</summary>
    public static int? StoredLimit(TensorSet? checkpoint) => Stored(checkpoint, "limit") switch
    {
        null => null,
        string l when int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 => n,
        string l => throw new InfoGpuException($"{checkpoint!.Source}: its 'limit' metadata is '{l}', not an image count; give --limit N"),
    };

    /// <summary>The progress display for a run: a bar on stderr when it is a terminal and the command prints for humans; null otherwise.</summary>
    public static IProgress<TrainingProgress>? Progress(CommandContext context) =>
        TerminalBar.For(context, "training") is TerminalBar bar ? new ConsoleBar(bar) : null;

    /// <summary>How the user runs this program: "infogpu" when installed as a command, else the dotnet invocation (under mpirun: of the built program, which every rank starts).</summary>
    private static string ProgramName(bool mpi = false)
    {
        string? path = Environment.ProcessPath;
        if (path is not null && Path.GetFileNameWithoutExtension(path) == "infogpu")
            return "infogpu";
        return mpi ? $"dotnet {Path.Combine(AppContext.BaseDirectory, "infogpu.dll")}" : "dotnet run --project src/Host -c Release --";
    }

    /// <summary>The training bar: the epoch's fraction, with the epoch and step, on a <see cref="TerminalBar"/>.</summary>
    private sealed class ConsoleBar(TerminalBar bar) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            bool end = p.StepInEpoch == p.StepsPerEpoch;
            bar.Draw(p.Fraction, string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs}  step {p.StepInEpoch}/{p.StepsPerEpoch}"), force: end);
            if (end)
                bar.Erase();
        }
    }
}
