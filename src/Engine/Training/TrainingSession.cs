using System.Diagnostics;
using System.Globalization;
using InfoGpu.Checkpoints;

namespace InfoGpu.Training;

/// <summary>Settings of a <see cref="TrainingSession{TMetrics}"/>.</summary>
public sealed record TrainingSessionOptions
{
    /// <summary>The epochs to reach (counted over the whole run, resumes included); 0: the trainer's <see cref="ITrainer.Epochs"/>.</summary>
    public int Epochs { get; init; }

    /// <summary>
    /// The run's folder: the checkpoint <see cref="TrainingSession.CheckpointFile"/> and the figures
    /// <see cref="TrainingSession.MetricsFile"/> are written there (atomically) at the end of every
    /// epoch, every <see cref="CheckpointEvery"/> steps and when the run is stopped. Null: nothing is written.
    /// </summary>
    public string? Directory { get; init; }

    /// <summary>Also checkpoint after every step numbered a multiple of this (0: at epoch ends and on a stop only). Needs <see cref="Directory"/>.</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>String metadata added to every checkpoint (e.g. where the data came from); the trainer's own keys win.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Told where the run is every <see cref="ProgressEvery"/> steps and at every epoch's end; null: not told.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Steps between progress reports; 0: about 100 reports per epoch.</summary>
    public int ProgressEvery { get; init; }

    /// <summary>
    /// Let a new run (one not resumed from a checkpoint) replace the checkpoint of an earlier run
    /// in <see cref="Directory"/>; by default that is refused, so that a finished run is not lost
    /// by a repeated command.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Whether this process writes the run's files (default true). The ranks of an MPI job other
    /// than rank 0 run the session with false: they take the same checkpoints (a trainer's
    /// <c>SaveState</c> may be a collective call) but write, lock and check nothing in <see cref="Directory"/>.
    /// </summary>
    public bool WriteFiles { get; init; } = true;

    /// <summary>
    /// Asked before every step: true stops the run there (with a checkpoint) as the cancellation
    /// token does, and <c>Run</c> returns <see cref="TrainingStop.Cancelled"/>. The ranks of an MPI
    /// job give a collective vote here (every rank's stop request, combined), so that a signal on
    /// any rank stops them all after the same step. Null: only the token stops the run.
    /// </summary>
    public Func<bool>? StopVote { get; init; }

    /// <summary>
    /// Keep the checkpoint that a new one replaces as <see cref="TrainingSession.PreviousCheckpointFile"/>
    /// (default false). The sessions of a model grid set it: a grid writes its models' checkpoints
    /// one after another, so a process killed between two of them leaves some models a checkpoint
    /// ahead of the others, and <see cref="TrainingSession.ReadGridCheckpoints"/> then finds every
    /// model at the last step that all of them reached.
    /// </summary>
    public bool KeepPreviousCheckpoint { get; init; }

    /// <summary>Throws <see cref="InfoGpuException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Epochs < 0)
            throw new InfoGpuException($"training session: epochs must be >= 0 (got {Epochs})");
        if (CheckpointEvery < 0)
            throw new InfoGpuException($"training session: the checkpoint interval must be >= 0 steps (got {CheckpointEvery})");
        if (CheckpointEvery > 0 && Directory is null)
            throw new InfoGpuException("training session: checkpoints every N steps need a directory to write them to");
        if (ProgressEvery < 0)
            throw new InfoGpuException($"training session: the progress interval must be >= 0 steps (got {ProgressEvery})");
    }
}

/// <summary>How a session's <c>Run</c> ended.</summary>
public enum TrainingStop
{
    /// <summary>Every epoch asked for is done.</summary>
    Completed = 0,

    /// <summary>The cancellation token stopped the run between two steps; the checkpoint (when there is a folder) holds the state to resume.</summary>
    Cancelled = 1,
}

/// <summary>File names and checkpoint reading shared by every session.</summary>
public static class TrainingSession
{
    /// <summary>The checkpoint's file name in a run's folder.</summary>
    public const string CheckpointFile = "model.safetensors";

    /// <summary>The per-epoch figures' file name in a run's folder (CSV, a header of column names, one row per epoch).</summary>
    public const string MetricsFile = "metrics.csv";

    /// <summary>The file a running session holds locked in its folder, so that two runs never write one folder.</summary>
    public const string LockFile = ".infogpu.lock";

    /// <summary>The checkpoint that the last one replaced, kept when <see cref="TrainingSessionOptions.KeepPreviousCheckpoint"/> is set (model grids).</summary>
    public const string PreviousCheckpointFile = "model.previous.safetensors";

    /// <summary>The metadata key of every checkpoint a session writes: the trainer's step count (updates done) at that checkpoint.</summary>
    public const string StepKey = "session_step";

    /// <summary>
    /// Reads the checkpoints of a grid's models, one folder each, at the last step that every model
    /// reached: each model's checkpoint, or its previous one
    /// (<see cref="PreviousCheckpointFile"/>) where the grid was stopped while writing a set of
    /// checkpoints and this model's is a step ahead of another's.
    /// </summary>
    /// <param name="directories">The models' folders, in the grid's order.</param>
    /// <param name="format">The format mark the trainers write.</param>
    /// <param name="what">What a checkpoint holds, with its article ("an RBM").</param>
    /// <param name="writer">The command that writes such grids ("infogpu rbm train").</param>
    /// <returns>The checkpoints in the order of <paramref name="directories"/>, and the indices of the models that continue from their previous checkpoint.</returns>
    /// <exception cref="InfoGpuException">A model has no readable checkpoint, or the models have none at a common step.</exception>
    public static (IReadOnlyList<TensorSet> Checkpoints, IReadOnlyList<int> FromPrevious) ReadGridCheckpoints(IReadOnlyList<string> directories, string format, string what, string writer)
    {
        ArgumentNullException.ThrowIfNull(directories);
        int n = directories.Count;
        if (n == 0)
            throw new ArgumentException("a grid has at least one model", nameof(directories));
        var current = new TensorSet?[n];
        InfoGpuException? firstError = null;
        for (int i = 0; i < n; i++)
        {
            try
            {
                current[i] = ReadCheckpoint(directories[i], format, what, writer);
            }
            catch (InfoGpuException e)
            {
                firstError ??= e;
            }
        }
        var steps = current.Select(c => c is null ? null : StepOf(c)).ToArray();
        if (firstError is null && (steps.All(x => x is null) || steps.Distinct().Count() == 1))
            return (current!, []);

        // Stopped while writing a set: every model holds the last complete set's step in its
        // checkpoint or its previous one (renamed just before a new checkpoint is written).
        var previous = new TensorSet?[n];
        for (int i = 0; i < n; i++)
        {
            string path = Path.Combine(directories[i], PreviousCheckpointFile);
            if (!File.Exists(path))
                continue;
            try
            {
                var set = SafeTensors.Read(path);
                set.RequireFormat(format, path, what, writer);
                previous[i] = set;
            }
            catch (InfoGpuException)
            {
                // A previous checkpoint that does not read is no candidate.
            }
        }
        var common = Enumerable.Range(0, n)
            .Select(i => new[] { current[i], previous[i] }.Where(c => c is not null).Select(c => StepOf(c!)).Where(x => x is not null).Select(x => x!.Value).ToHashSet())
            .Aggregate((a, b) => { a.IntersectWith(b); return a; });
        if (common.Count == 0)
        {
            int missing = Array.FindIndex(current, c => c is null);
            if (missing >= 0 && previous[missing] is null)
            {
                throw current.Any(c => c is not null) && !File.Exists(Path.Combine(directories[missing], CheckpointFile))
                    ? new InfoGpuException($"{directories[missing]}: no {CheckpointFile} there while other models of the grid have one: the grid was stopped before every model's first checkpoint was written; start it again (with --overwrite)")
                    : firstError!;
            }
            string where = string.Join(", ", Enumerable.Range(0, n).Select(i => $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(directories[i]))} at step {(steps[i] is long x ? x.ToString(CultureInfo.InvariantCulture) : "?")}"));
            throw new InfoGpuException($"the grid's models have no checkpoints of a common step ({where}): they were not written by one run of the grid; start it again (with --overwrite)");
        }
        long step = common.Max();
        var chosen = new TensorSet[n];
        var fromPrevious = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (current[i] is { } c && StepOf(c) == step)
            {
                chosen[i] = c;
            }
            else
            {
                chosen[i] = previous[i]!;
                // The session resumed from it must not keep the checkpoint ahead as its previous one.
                chosen[i].Metadata[AheadOnDiskKey] = "true";
                fromPrevious.Add(i);
            }
        }
        return (chosen, fromPrevious);
    }

    /// <summary>Marks a checkpoint read from <see cref="PreviousCheckpointFile"/> while the model's own file is ahead of the grid (in memory only).</summary>
    internal const string AheadOnDiskKey = "infogpu_checkpoint_ahead_on_disk";

    private static long? StepOf(TensorSet set) =>
        set.Metadata.TryGetValue(StepKey, out var v) && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long x) ? x : null;

    /// <summary>
    /// Reads the checkpoint of the run in <paramref name="directory"/> (the folder a session wrote,
    /// or the checkpoint file itself), checking its checksum and its format mark.
    /// </summary>
    /// <param name="directory">A run's folder, or a checkpoint file.</param>
    /// <param name="format">The format mark the trainer writes (e.g. <see cref="Restricted.RbmCheckpoint.Format"/>).</param>
    /// <param name="what">What the checkpoint holds, with its article ("an RBM").</param>
    /// <param name="writer">The command that writes such runs ("infogpu rbm train").</param>
    /// <exception cref="InfoGpuException">No checkpoint there, or it is corrupt or of another model.</exception>
    public static TensorSet ReadCheckpoint(string directory, string format, string what, string writer)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string path = File.Exists(directory) ? directory : Path.Combine(directory, CheckpointFile);
        if (!File.Exists(path))
            throw new InfoGpuException($"{directory}: no {CheckpointFile} there; give the output folder of an earlier '{writer}'");
        var set = SafeTensors.Read(path);
        set.RequireFormat(format, path, what, writer);
        return set;
    }
}

/// <summary>
/// Drives any <see cref="ITrainer{TMetrics}"/> through a run: epochs up to a target, resume from a
/// checkpoint, checkpoints every N steps and at every epoch's end, cancellation between two
/// steps (with a checkpoint), the divergence stop (a non-finite value is never written: the last
/// good checkpoint stays), the per-epoch figures (kept in the checkpoint, written as CSV, and
/// passed to <see cref="EpochCompleted"/>), and progress through <see cref="IProgress{T}"/>.
/// </summary>
/// <typeparam name="TMetrics">The figures of one epoch.</typeparam>
/// <example>
/// <code>
/// using var device = ComputeDevice.Open(DeviceKind.Auto);
/// using var trainer = new RbmTrainer(device, rbm, train.Images, test.Images, new RbmTrainerOptions { Epochs = 10 });
/// var session = new TrainingSession&lt;RbmEpochMetrics&gt;(trainer, new TrainingSessionOptions { Directory = "out/rbm" });
/// session.EpochCompleted += m => Console.WriteLine($"epoch {m.Epoch}: PLL {m.PseudoLogLikelihood:F3}");
/// session.Run(cancel);
/// </code>
/// </example>
/// <remarks>Not safe to use from several threads at once: one thread runs a session.</remarks>
public sealed class TrainingSession<TMetrics>
    where TMetrics : IEpochMetrics<TMetrics>
{
    private const string HistoryTensor = "history";
    private const string HistoryColumnsKey = "history_columns";

    private readonly ITrainer<TMetrics> trainer;
    private readonly TrainingSessionOptions options;
    private readonly List<TMetrics> history = [];
    private int firstEpoch = -1;
    private long? savedStep;

    // Resumed from the previous checkpoint of a grid's model whose own checkpoint is ahead of the
    // grid: the first save replaces that one (from a run the grid abandoned) and keeps the previous.
    private bool aheadOnDisk;

    /// <summary>Prepares a run of <paramref name="trainer"/>; nothing runs until <see cref="Run"/>.</summary>
    /// <param name="trainer">The trainer, new or restored by its <c>Resume</c>.</param>
    /// <param name="options">The session's settings (validated here).</param>
    /// <param name="resumedFrom">The checkpoint the trainer was restored from: its figures of the earlier epochs are kept (from the checkpoint, or from the metrics CSV beside a checkpoint of the earlier layout).</param>
    public TrainingSession(ITrainer<TMetrics> trainer, TrainingSessionOptions options, TensorSet? resumedFrom = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.trainer = trainer;
        this.options = options;
        if (options.Directory is not null && options.WriteFiles)
            CheckWritable(options.Directory);
        if (options.Epochs > 0)
            trainer.Epochs = options.Epochs;
        if (resumedFrom is not null)
        {
            history.AddRange(ReadHistory(resumedFrom, trainer.Epoch));
            aheadOnDisk = resumedFrom.Metadata.ContainsKey(TrainingSession.AheadOnDiskKey);
        }
        else if (CheckpointPath is string path && options.WriteFiles && File.Exists(path) && !options.Overwrite)
            throw new InfoGpuException($"{options.Directory} already holds a run ({TrainingSession.CheckpointFile}); continue it with --resume {options.Directory}, choose another output folder, or pass --overwrite to replace it");
    }

    /// <summary>Called with the figures of every epoch this session completes, after its checkpoint is written.</summary>
    public event Action<TMetrics>? EpochCompleted;

    /// <summary>The trainer driven.</summary>
    public ITrainer<TMetrics> Trainer => trainer;

    /// <summary>The figures of every completed epoch of the run, those before a resume included.</summary>
    public IReadOnlyList<TMetrics> History => history;

    /// <summary>The figures of the epochs completed by this session's <see cref="Run"/> calls.</summary>
    public IReadOnlyList<TMetrics> NewEpochs => history.Where(m => m.Epoch > firstEpoch).ToList();

    /// <summary>Where the checkpoint is written; null without a folder.</summary>
    public string? CheckpointPath => options.Directory is null ? null : Path.Combine(options.Directory, TrainingSession.CheckpointFile);

    /// <summary>Where the per-epoch figures are written; null without a folder.</summary>
    public string? MetricsPath => options.Directory is null ? null : Path.Combine(options.Directory, TrainingSession.MetricsFile);

    /// <summary>
    /// Trains until <see cref="ITrainer.Epoch"/> reaches the target, or until <paramref name="cancel"/>
    /// stops it between two steps (the state is then checkpointed when there is a folder).
    /// </summary>
    /// <remarks>
    /// With a folder, the run holds <see cref="TrainingSession.LockFile"/> there locked while it
    /// runs: a second session on the same folder, in this process or another, is refused. When no
    /// epoch is left to run, the checkpoint is still written once (with the new target and metadata).
    /// </remarks>
    /// <exception cref="TrainingDivergedException">The trainer diverged, or its state holds a NaN or an infinity at a checkpoint; the last good checkpoint is kept.</exception>
    /// <exception cref="InfoGpuException">Another run holds the folder.</exception>
    public TrainingStop Run(CancellationToken cancel = default)
    {
        using var folderLock = LockFolder();
        if (firstEpoch < 0)
            firstEpoch = trainer.Epoch;
        if (savedStep is null && CheckpointPath is string existing && File.Exists(existing) && trainer.Step > 0)
            savedStep = trainer.Step; // resumed from it
        try
        {
            return RunLocked(cancel);
        }
        catch (TrainingDivergedException e) when (options.Directory is not null)
        {
            string kept = savedStep is long s
                ? $"the last good checkpoint, from step {s}, is kept in {CheckpointPath}"
                : "no checkpoint was written before it";
            throw new TrainingDivergedException($"{e.Message}; {kept}", e);
        }
    }

    private TrainingStop RunLocked(CancellationToken cancel)
    {
        bool ranAny = false;
        int target = trainer.Epochs;
        long started = Stopwatch.GetTimestamp();
        int every = options.ProgressEvery > 0 ? options.ProgressEvery : Math.Max(1, trainer.StepsPerEpoch / 100);
        int stopEvery = options.Directory is null ? 0 : options.CheckpointEvery;
        while (trainer.Epoch < target)
        {
            bool voted = false;
            Func<bool>? vote = options.StopVote is { } ask ? () => voted = ask() : null;
            var r = trainer.TrainEpoch(cancel, stopEvery, options.Progress, every, target, started, vote);
            ranAny = true;
            if (!r.Completed)
            {
                if (options.Directory is not null)
                    SaveCheckpoint();
                if (voted || cancel.IsCancellationRequested)
                    return TrainingStop.Cancelled;
                continue;
            }
            history.Add(r.Metrics!);
            if (options.Directory is not null)
                SaveCheckpoint();
            EpochCompleted?.Invoke(r.Metrics!);
        }
        if (!ranAny && options.Directory is not null)
            SaveCheckpoint();
        return TrainingStop.Completed;
    }

    /// <summary>The session's settings.</summary>
    internal TrainingSessionOptions Settings => options;

    /// <summary>
    /// Starts a run whose steps someone else drives (<see cref="ModelGrid{TMetrics}"/>): holds the
    /// folder's lock as <see cref="Run"/> does until the returned lock is disposed.
    /// </summary>
    internal IDisposable? BeginDrivenRun()
    {
        var held = LockFolder();
        if (firstEpoch < 0)
            firstEpoch = trainer.Epoch;
        if (savedStep is null && CheckpointPath is string existing && File.Exists(existing) && trainer.Step > 0)
            savedStep = trainer.Step;
        return held;
    }

    /// <summary>Records an epoch that a driven run completed: its figures, the checkpoint (with a folder) and the callback, as <see cref="Run"/> does.</summary>
    internal void CompleteEpoch(TMetrics metrics)
    {
        history.Add(metrics);
        if (options.Directory is not null)
            SaveCheckpoint();
        EpochCompleted?.Invoke(metrics);
    }

    /// <summary>Writes the checkpoint when the session has a folder.</summary>
    internal void SaveCheckpointIfFolder()
    {
        if (options.Directory is not null)
            SaveCheckpoint();
    }

    /// <summary>The message of a divergence, with where the last good checkpoint is (as <see cref="Run"/> says it).</summary>
    internal string DivergedMessage(string message) => options.Directory is null ? message : savedStep is long s
        ? $"{message}; the last good checkpoint, from step {s}, is kept in {CheckpointPath}"
        : $"{message}; no checkpoint was written before it";

    /// <summary>The run's folder exists (made here) and takes files, checked before any training so that a bad folder costs nothing.</summary>
    private static void CheckWritable(string directory)
    {
        if (string.IsNullOrWhiteSpace(directory))
            throw new InfoGpuException("the output folder name is empty; give a folder for the run's files");
        if (File.Exists(directory))
            throw new InfoGpuException($"{directory} is a file, not a folder; give a folder for the run's files");
        string probe = Path.Combine(directory, $".infogpu-write-test-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InfoGpuException($"cannot write to the output folder {directory}: {e.Message}");
        }
    }

    private FolderLock? LockFolder()
    {
        if (options.Directory is null || !options.WriteFiles)
            return null;
        Directory.CreateDirectory(options.Directory);
        string path = Path.Combine(options.Directory, TrainingSession.LockFile);
        string owner = path + ".owner";
        try
        {
            var held = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            try
            {
                File.WriteAllText(owner, FormattableString.Invariant($"{Environment.ProcessId} {Environment.MachineName} {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n"));
            }
            catch (IOException)
            {
                // the holder's name is a courtesy to the runs it turns away; the lock itself is held
            }
            return new FolderLock(held, owner);
        }
        catch (IOException)
        {
            throw new InfoGpuException($"another run is writing to {options.Directory} ({Holder(owner)} holds {path}); wait for it to end or choose another output folder");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InfoGpuException($"cannot write to {options.Directory}: {e.Message}");
        }
    }

    /// <summary>"process 1234 on host H since T", from the lock's owner file, or "another process" when it cannot be read.</summary>
    private static string Holder(string owner)
    {
        try
        {
            var fi = new FileInfo(owner);
            if (fi.Exists && fi.Length < 512)
            {
                string[] parts = File.ReadAllText(owner).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (parts.Length == 3 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                    return FormattableString.Invariant($"process {pid} on {string.Concat(parts[1].Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.').Take(64))} since {string.Concat(parts[2].Where(c => char.IsAsciiDigit(c) || c is '-' or ':' or 'T' or 'Z'))}");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return "another process";
    }

    /// <summary>The held lock file and its owner note, both removed when the run ends.</summary>
    private sealed class FolderLock(FileStream held, string owner) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                File.Delete(owner);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            held.Dispose();
        }
    }

    /// <summary>
    /// Writes the trainer's whole state, the figures so far and the session's metadata to
    /// <see cref="CheckpointPath"/>, and the figures to <see cref="MetricsPath"/>, each atomically
    /// (synchronizes with the device).
    /// </summary>
    /// <exception cref="InvalidOperationException">The session has no folder.</exception>
    /// <exception cref="TrainingDivergedException">A tensor of the state holds NaN or infinity: nothing is written.</exception>
    public void SaveCheckpoint()
    {
        string path = CheckpointPath ?? throw new InvalidOperationException("the session has no folder to checkpoint to");
        var set = trainer.SaveState();
        CheckFinite(set);
        if (!options.WriteFiles)
            return;
        foreach (var (k, v) in options.Metadata ?? new Dictionary<string, string>())
            set.Metadata.TryAdd(k, v);
        var names = TMetrics.ColumnNames;
        var h = new double[history.Count * names.Count];
        for (int i = 0; i < history.Count; i++)
            history[i].ToColumns().AsSpan(0, names.Count).CopyTo(h.AsSpan(i * names.Count));
        set.Add(HistoryTensor, h, history.Count, names.Count);
        set.Metadata[HistoryColumnsKey] = string.Join(',', names);
        set.Metadata[TrainingSession.StepKey] = trainer.Step.ToString(CultureInfo.InvariantCulture);
        Directory.CreateDirectory(options.Directory!);
        if (options.KeepPreviousCheckpoint && File.Exists(path) && !aheadOnDisk)
        {
            // Renamed, not copied: a kill before the new checkpoint is whole leaves this one.
            string previous = Path.Combine(options.Directory!, TrainingSession.PreviousCheckpointFile);
            try
            {
                File.Move(path, previous, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InfoGpuException($"cannot keep the previous checkpoint as {previous}: {e.Message}");
            }
        }
        SafeTensors.Write(path, set);
        aheadOnDisk = false;
        savedStep = trainer.Step;
        WriteMetrics(MetricsPath!);
    }

    private void WriteMetrics(string path)
    {
        var lines = new List<string> { string.Join(',', TMetrics.ColumnNames) };
        foreach (var m in history)
            lines.Add(string.Join(',', m.ToColumns().Select((v, i) => i == 0 ? ((int)v).ToString(CultureInfo.InvariantCulture) : Format(v))));
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllLines(tmp, lines);
            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException e)
        {
            throw new InfoGpuException($"cannot write {path}: {e.Message}");
        }
        finally
        {
            if (File.Exists(tmp))
                File.Delete(tmp);
        }
    }

    private static string Format(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    private void CheckFinite(TensorSet set)
    {
        foreach (var (name, t) in set.Tensors)
        {
            int bad = t.DType switch
            {
                "F32" => CountNonFinite(set.GetFloat(name)),
                "F64" => CountNonFinite(set.GetDouble(name)),
                _ => 0,
            };
            if (bad > 0)
            {
                throw new TrainingDivergedException(
                    $"{trainer.ModelName} training diverged by step {trainer.Step} (epoch {trainer.Epoch + 1}): '{name}' holds {bad} NaN or infinite values; lower the learning rate");
            }
        }
    }

    private static int CountNonFinite<T>(T[] values)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        int bad = 0;
        foreach (var v in values)
        {
            if (!T.IsFinite(v))
                bad++;
        }
        return bad;
    }

    /// <summary>The figures of epochs 1 .. <paramref name="epochsDone"/> kept in a checkpoint, or in the metrics CSV beside a checkpoint of the earlier layout.</summary>
    private static IEnumerable<TMetrics> ReadHistory(TensorSet set, int epochsDone)
    {
        var names = TMetrics.ColumnNames;
        var rows = new List<double[]>();
        if (set.Contains(HistoryTensor))
        {
            string[] stored = set.Metadata.TryGetValue(HistoryColumnsKey, out var c) ? c.Split(',') : names.ToArray();
            var t = set.Tensors[HistoryTensor];
            if (t.Shape.Length != 2 || t.Shape[1] != stored.Length || stored.Length < 2)
                throw new InfoGpuException($"{set.Source}: its per-epoch history has shape [{string.Join(", ", t.Shape)}], not [epochs, {stored.Length}]");
            var h = set.GetDouble(HistoryTensor);
            for (int i = 0; i + stored.Length <= h.Length; i += stored.Length)
                rows.Add(Align(stored, h.AsSpan(i, stored.Length), names));
        }
        else if (set.FilePath is not null)
        {
            // Checkpoints of the earlier layout kept the figures only in the run's CSV.
            string csv = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(set.FilePath)) ?? ".", TrainingSession.MetricsFile);
            if (File.Exists(csv) && new FileInfo(csv).Length < (64 << 20))
            {
                var lines = File.ReadAllLines(csv);
                if (lines.Length > 0)
                {
                    string[] header = lines[0].Split(',');
                    foreach (var line in lines.Skip(1))
                    {
                        var cells = line.Split(',');
                        var values = new double[header.Length];
                        for (int j = 0; j < header.Length; j++)
                            values[j] = j < cells.Length && double.TryParse(cells[j], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
                        rows.Add(Align(header, values, names));
                    }
                }
            }
        }
        foreach (var r in rows)
        {
            if (r[0] >= 1 && r[0] <= epochsDone)
                yield return TMetrics.FromColumns(r);
        }
    }

    /// <summary>Values under <paramref name="stored"/> names, reordered to <paramref name="names"/> (NaN where absent).</summary>
    private static double[] Align(string[] stored, ReadOnlySpan<double> values, IReadOnlyList<string> names)
    {
        var r = new double[names.Count];
        for (int j = 0; j < names.Count; j++)
        {
            int at = Array.IndexOf(stored, names[j]);
            r[j] = at >= 0 && at < values.Length ? values[at] : double.NaN;
        }
        return r;
    }
}
