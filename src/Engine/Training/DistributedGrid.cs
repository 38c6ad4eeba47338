using System.Diagnostics;
using System.Text;
using InfoGpu.Checkpoints;
using InfoGpu.Distributed;

namespace InfoGpu.Training;

/// <summary>What every <see cref="DistributedGrid{TMetrics}"/> shares: how the models are dealt to the ranks.</summary>
public static class DistributedGrid
{
    /// <summary>
    /// The models a rank trains: models [<paramref name="models"/> * rank / ranks, <paramref name="models"/> * (rank + 1) / ranks)
    /// (<see cref="Cluster.ShareOf"/>), contiguous blocks that differ in size by at most one.
    /// </summary>
    /// <param name="models">The models of the grid (at least <paramref name="ranks"/>).</param>
    /// <param name="ranks">The ranks of the job.</param>
    /// <param name="rank">The rank.</param>
    /// <exception cref="ArgumentOutOfRangeException">Fewer models than ranks, or a rank out of range.</exception>
    public static (int First, int Count) Share(int models, int ranks, int rank)
    {
        if (models < ranks)
            throw new ArgumentOutOfRangeException(nameof(models), models, $"every one of the {ranks} ranks trains at least one model");
        return Cluster.ShareOf(models, ranks, rank);
    }
}

/// <summary>
/// A grid of models (<see cref="ModelGrid{TMetrics}"/>) split across the ranks of an MPI job: the
/// models are dealt to the ranks in contiguous blocks (<see cref="DistributedGrid.Share"/>: rank r trains models
/// [M r / P, M (r + 1) / P), as <see cref="Cluster.ShareOf"/> splits all work), each rank steps its
/// own block as a <see cref="ModelGrid{TMetrics}"/> does, and rank 0 writes every model's folder.
/// The files are those of the same grid trained in one process: each model's steps are its own
/// trainer's, and the checkpoints are taken at the same points (every epoch's end, every
/// <see cref="TrainingSessionOptions.CheckpointEvery"/> steps, on a stop).
/// </summary>
/// <remarks>
/// <para>
/// At every checkpoint the ranks other than 0 send their models' states (and, at an epoch's end,
/// their figures) to rank 0 (<see cref="Cluster.Gather"/>); rank 0 holds a session for every
/// model of the grid, those of the other ranks' models around a stand-in trainer whose state is
/// the one received, and writes them in the grid's order through those sessions. The ranks other
/// than 0 write no file.
/// </para>
/// <para>
/// Every failure inside <see cref="Run"/> (a model that diverges on any rank, a checkpoint that
/// rank 0 cannot write, a folder another run holds) is agreed by all the ranks at the next
/// collective call: every rank throws, rank 0 with the message that names the model (and where
/// its last good checkpoint is), and <see cref="EndedTogether"/> is set so that the job can end
/// without aborting. After every step the ranks vote (one all-reduce of one int) on whether any
/// failed or was asked to stop (its cancellation token, or <see cref="StopRequested"/>): all stop
/// after the same step. The sessions' own <see cref="TrainingSessionOptions.StopVote"/> is not asked.
/// </para>
/// <para>Not thread-safe: one thread of every rank runs the grid, and every rank must call <see cref="Run"/>.</para>
/// </remarks>
/// <typeparam name="TMetrics">The figures of one epoch.</typeparam>
public sealed class DistributedGrid<TMetrics>
    where TMetrics : IEpochMetrics<TMetrics>
{
    private readonly Cluster cluster;
    private readonly ModelGrid<TMetrics> local;
    private readonly string[] names;
    private readonly int first;
    private readonly TrainingSession<TMetrics>[] sessions;
    private readonly StandIn?[] standIns;

    /// <summary>Prepares this rank's part of the grid; nothing runs until <see cref="Run"/>. Every rank builds it with the same names.</summary>
    /// <param name="cluster">The ranks the grid is split across.</param>
    /// <param name="names">A name per model of the whole grid, in its order (e.g. the models' folders); at least as many as ranks.</param>
    /// <param name="localSessions">The sessions of this rank's models, those of <see cref="DistributedGrid.Share"/>, in the grid's order; rank 0's write the files, the others' are built with <see cref="TrainingSessionOptions.WriteFiles"/> false.</param>
    /// <param name="remoteSession">
    /// Called on rank 0 only, for every model another rank trains: builds its session (folder,
    /// metadata, resumed history) around the stand-in trainer it is given, whose state and figures
    /// are those the model's rank sends.
    /// </param>
    /// <exception cref="ArgumentException">Fewer models than ranks, more than <see cref="ModelGrid.MaxModels"/>, local sessions that are not this rank's share or not at one place, a session not built around its stand-in, or two models sharing a folder.</exception>
    /// <param name="stepping">How each rank steps its own models (<see cref="ModelGrid{TMetrics}"/>: fused in one set of launches where that pays).</param>
    public DistributedGrid(Cluster cluster, IReadOnlyList<string> names, IReadOnlyList<TrainingSession<TMetrics>> localSessions, Func<int, ITrainer<TMetrics>, TrainingSession<TMetrics>> remoteSession, GridStepping stepping = GridStepping.Auto)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(localSessions);
        ArgumentNullException.ThrowIfNull(remoteSession);
        if (names.Count > ModelGrid.MaxModels)
            throw new ArgumentException($"a grid trains at most {ModelGrid.MaxModels} models (got {names.Count}); split it into several grids", nameof(names));
        if (names.Count < cluster.Size)
            throw new ArgumentException($"{names.Count} models for {cluster.Size} ranks: every rank trains at least one model", nameof(names));
        this.cluster = cluster;
        this.names = [.. names];
        var (start, count) = DistributedGrid.Share(names.Count, cluster.Size, cluster.Rank);
        first = start;
        if (localSessions.Count != count)
            throw new ArgumentException($"rank {cluster.Rank} trains models {start} to {start + count - 1} of {names.Count}, not {localSessions.Count}", nameof(localSessions));
        local = new ModelGrid<TMetrics>(localSessions, this.names[start..(start + count)], stepping);
        if (!cluster.IsRoot)
        {
            sessions = [.. localSessions];
            standIns = new StandIn?[count];
            return;
        }
        sessions = new TrainingSession<TMetrics>[names.Count];
        standIns = new StandIn?[names.Count];
        var lead = localSessions[0].Trainer;
        var folders = new HashSet<string>(StringComparer.Ordinal);
        for (int m = 0; m < names.Count; m++)
        {
            if (m >= start && m < start + count)
            {
                sessions[m] = localSessions[m - start];
            }
            else
            {
                var standIn = new StandIn(lead);
                sessions[m] = remoteSession(m, standIn) ?? throw new ArgumentException($"no session for model {names[m]}", nameof(remoteSession));
                if (!ReferenceEquals(sessions[m].Trainer, standIn))
                    throw new ArgumentException($"the session of model {names[m]} must drive the stand-in trainer it was given", nameof(remoteSession));
                standIns[m] = standIn;
            }
            if (sessions[m].Settings.Directory is string dir && !folders.Add(Path.GetFullPath(dir)))
                throw new ArgumentException($"two models of the grid write to the same folder {dir}; give each its own", nameof(localSessions));
        }
    }

    /// <summary>Called on rank 0 with the model's index and figures for every epoch a model of the grid completes, after its checkpoint is written.</summary>
    public event Action<int, TMetrics>? EpochCompleted;

    /// <summary>
    /// The sessions this rank holds: on rank 0 every model's, in the grid's order, with every
    /// model's history; on the other ranks, those of its own models, which only drive the trainers
    /// (their histories are kept on rank 0, not there).
    /// </summary>
    public IReadOnlyList<TrainingSession<TMetrics>> Sessions => sessions;

    /// <summary>Whether this rank steps its own models in one set of launches (see <see cref="ModelGrid{TMetrics}.Fused"/>).</summary>
    public bool Fused => local.Fused;

    /// <summary>Why this rank steps its models one after another (null when <see cref="Fused"/>).</summary>
    public string? NotFusedReason => local.NotFusedReason;

    /// <summary>The index in the grid of this rank's first model (its models are the next <see cref="LocalCount"/>).</summary>
    public int First => first;

    /// <summary>How many models this rank trains.</summary>
    public int LocalCount => local.Sessions.Count;

    /// <summary>
    /// Held by rank 0 while it writes one checkpoint of every model (null: none). A handler that
    /// ends the process at once (the job was stopped, a peer died) takes it first, so that the job
    /// ends between two sets of checkpoints: every model's last checkpoint is then of the same step,
    /// and the grid resumes.
    /// </summary>
    public object? WriteGate { get; set; }

    /// <summary>Asked on this rank at every vote, besides the cancellation token: whether this rank was asked to stop (not a collective call). Null: the token alone.</summary>
    public Func<bool>? StopRequested { get; set; }

    /// <summary>Called on every rank when the ranks agreed to stop (e.g. to call off a watchdog that would end a rank that cannot agree).</summary>
    public Action? StopAgreed { get; set; }

    /// <summary>True once a failure inside <see cref="Run"/> was agreed by every rank: all of them threw, and may end the job together.</summary>
    public bool EndedTogether { get; private set; }

    /// <summary>
    /// On rank 0, the last state received of a model another rank trains (its trainer's
    /// <see cref="ITrainer.SaveState"/>, as sent at the last checkpoint); null for rank 0's own models,
    /// before any checkpoint, and on the other ranks.
    /// </summary>
    public TensorSet? ReceivedState(int model)
    {
        if (model < 0 || model >= names.Length)
            throw new ArgumentOutOfRangeException(nameof(model), model, $"the grid has models 0 to {names.Length - 1}");
        return cluster.IsRoot && standIns[model] is { HasState: true } s ? s.SaveState() : null;
    }

    /// <summary>
    /// Trains every model until the target epochs, or until a rank is asked to stop: the ranks
    /// agree after the next step, and every model is then checkpointed (when the sessions have
    /// folders). Every rank calls it.
    /// </summary>
    /// <param name="cancel">This rank's request to stop (a signal); the other ranks learn it at the next vote.</param>
    /// <returns>Whether the run completed or was stopped.</returns>
    /// <exception cref="TrainingDivergedException">A model diverged on some rank (on rank 0 the message names it); every model's last good checkpoint is kept.</exception>
    /// <exception cref="InfoGpuException">Another run holds one of the folders, the models do not start at one place, or rank 0 cannot write a checkpoint.</exception>
    public TrainingStop Run(CancellationToken cancel = default)
    {
        var locks = new List<IDisposable?>(sessions.Length);
        try
        {
            Failure? failed = null;
            try
            {
                foreach (var s in sessions)
                    locks.Add(s.BeginDrivenRun());
            }
            catch (InfoGpuException e)
            {
                failed = new Failure(false, -1, e.Message);
            }
            Agree(failed);
            CheckPlace();
            return RunLocked(cancel);
        }
        finally
        {
            local.EndSteps();
            for (int i = locks.Count - 1; i >= 0; i--)
                locks[i]?.Dispose();
        }
    }

    private TrainingStop RunLocked(CancellationToken cancel)
    {
        var lead = local.Sessions[0].Trainer;
        var settings = local.Sessions[0].Settings;
        int target = lead.Epochs;
        int steps = lead.StepsPerEpoch;
        long started = Stopwatch.GetTimestamp();
        var progress = cluster.IsRoot ? settings.Progress : null;
        int every = settings.ProgressEvery > 0 ? settings.ProgressEvery : Math.Max(1, steps / 100);
        int stopEvery = settings.Directory is null ? 0 : settings.CheckpointEvery;
        bool ranAny = false, stop = false;
        while (lead.Epoch < target)
        {
            ranAny = true;
            while (lead.StepInEpoch < steps)
            {
                if (stop)
                {
                    SaveAll();
                    return TrainingStop.Cancelled;
                }
                Failure? failed = null;
                try
                {
                    local.StepAll();
                }
                catch (TrainingDivergedException e)
                {
                    failed = Diverged(e);
                }
                stop = Vote(failed, cancel);
                if (progress is not null && (lead.StepInEpoch % every == 0 || lead.StepInEpoch == steps))
                    progress.Report(new TrainingProgress(lead.Epoch + 1, target, lead.StepInEpoch, steps, lead.Step, Stopwatch.GetElapsedTime(started).TotalSeconds));
                if (stopEvery > 0 && lead.Step % stopEvery == 0 && lead.StepInEpoch < steps)
                    SaveAll();
            }
            TMetrics[] metrics = [];
            Failure? ended = null;
            try
            {
                metrics = local.EndEpochAll();
            }
            catch (TrainingDivergedException e)
            {
                ended = Diverged(e);
            }
            Agree(ended);
            CompleteEpoch(metrics);
        }
        if (!ranAny)
            SaveAll();
        return TrainingStop.Completed;
    }

    /// <summary>The models of every rank start at the place of rank 0's (checked together, so that every rank refuses a mixed grid alike).</summary>
    private void CheckPlace()
    {
        var t = local.Sessions[0].Trainer;
        double[] mine = [t.Epoch, t.StepInEpoch, t.Step, t.StepsPerEpoch, t.Epochs];
        var all = new double[mine.Length * cluster.Size];
        cluster.AllGather(mine, all);
        for (int r = 1; r < cluster.Size; r++)
        {
            var p = all.AsSpan(r * mine.Length, mine.Length);
            if (!p.SequenceEqual(all.AsSpan(0, mine.Length)))
            {
                EndedTogether = true;
                string other = names[DistributedGrid.Share(names.Length, cluster.Size, r).First];
                throw new InfoGpuException(FormattableString.Invariant(
                    $"model {other} is at epoch {p[0]} step {p[1]} of {p[3]} (target {p[4]} epochs) and model {names[0]} at epoch {all[0]} step {all[1]} of {all[3]} (target {all[4]}); the models of a grid advance together and must start at the same place"));
            }
        }
    }

    /// <summary>Every model's checkpoint, at a step: the other ranks send their states, rank 0 writes them all in the grid's order.</summary>
    private void SaveAll()
    {
        if (local.Sessions[0].Settings.Directory is null)
            return;
        local.WriteBack();
        var parts = cluster.Gather(cluster.IsRoot ? [] : Pack(null));
        Failure? failed = null;
        if (parts is not null)
        {
            Unpack(parts, null);
            failed = WriteInOrder(m => sessions[m].SaveCheckpointIfFolder());
        }
        Agree(failed);
    }

    /// <summary>An epoch's end: the other ranks send their models' figures and states, rank 0 records and writes every model's epoch in the grid's order.</summary>
    private void CompleteEpoch(TMetrics[] localMetrics)
    {
        bool states = local.Sessions[0].Settings.Directory is not null;
        var parts = cluster.Gather(cluster.IsRoot ? [] : Pack(localMetrics, states));
        Failure? failed = null;
        if (parts is not null)
        {
            var received = new TMetrics[names.Length];
            Unpack(parts, received);
            for (int m = 0; m < localMetrics.Length; m++)
                received[first + m] = localMetrics[m];
            failed = WriteInOrder(m =>
            {
                sessions[m].CompleteEpoch(received[m]);
                EpochCompleted?.Invoke(m, received[m]);
            });
        }
        Agree(failed);
    }

    /// <summary>Runs <paramref name="write"/> for every model in order on rank 0; the first failure stops it (the later models keep their last checkpoint), as in one process.</summary>
    private Failure? WriteInOrder(Action<int> write)
    {
        if (WriteGate is null)
            return WriteEach(write);
        lock (WriteGate)
            return WriteEach(write);
    }

    private Failure? WriteEach(Action<int> write)
    {
        for (int m = 0; m < sessions.Length; m++)
        {
            try
            {
                write(m);
            }
            catch (TrainingDivergedException e)
            {
                return new Failure(true, m, e.Message);
            }
            catch (InfoGpuException e)
            {
                return new Failure(false, -1, e.Message);
            }
        }
        return null;
    }

    /// <summary>A divergence on this rank: the model's index in the grid and its trainer's own message (rank 0 names the model and its last checkpoint).</summary>
    private Failure Diverged(TrainingDivergedException e) =>
        local.FailedModel >= 0 ? new Failure(true, first + local.FailedModel, e.InnerException?.Message ?? e.Message) : new Failure(false, -1, e.Message);

    /// <summary>
    /// The ranks agree whether any failed (one all-reduce); when one did, its failure is gathered on
    /// rank 0 and every rank throws: rank 0 the first failure in rank order (hence in model order), named.
    /// </summary>
    private void Agree(Failure? failed)
    {
        if (cluster.Max(failed is null ? 0 : 1) != 0)
            Fail(failed);
    }

    /// <summary>
    /// The vote after every step (one all-reduce): any rank's failure ends the grid as
    /// <see cref="Agree"/> does; otherwise true on every rank when any was asked to stop.
    /// </summary>
    private bool Vote(Failure? failed, CancellationToken cancel)
    {
        int mine = failed is not null ? 2 : cancel.IsCancellationRequested || (StopRequested?.Invoke() ?? false) ? 1 : 0;
        int all = cluster.Max(mine);
        if (all == 2)
            Fail(failed);
        if (all == 0)
            return false;
        StopAgreed?.Invoke();
        return true;
    }

    /// <summary>Some rank failed (every rank knows it): rank 0 gathers the failures and throws the first; the others throw too.</summary>
    private void Fail(Failure? failed)
    {
        EndedTogether = true;
        var parts = cluster.Gather(failed is null ? [] : Encoding.UTF8.GetBytes(failed.Encode()));
        if (parts is null)
        {
            string why = FormattableString.Invariant($"rank {cluster.Rank}: the grid stopped (rank 0 reports why)");
            throw failed is { Diverged: true } ? new TrainingDivergedException(why) : new InfoGpuException(why);
        }
        var f = parts.Where(p => p.Length > 0).Select(p => Failure.Decode(Encoding.UTF8.GetString(p))).First();
        if (!f.Diverged)
            throw new InfoGpuException(f.Message);
        throw new TrainingDivergedException($"model {names[f.Model]}: {sessions[f.Model].DivergedMessage(f.Message)}");
    }

    /// <summary>This rank's models' states (when there are folders) and figures (at an epoch's end), for rank 0.</summary>
    private byte[] Pack(TMetrics[]? metrics, bool states = true)
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(local.Sessions.Count);
            for (int i = 0; i < local.Sessions.Count; i++)
            {
                w.Write(first + i);
                double[] columns = metrics is null ? [] : metrics[i].ToColumns();
                w.Write(metrics is null ? -1 : columns.Length);
                foreach (double v in columns)
                    w.Write(v);
                w.Write(states);
                if (states)
                    StateBytes.Write(w, local.Sessions[i].Trainer.SaveState());
            }
        }
        return buffer.ToArray();
    }

    /// <summary>Hands the states and figures the other ranks sent to the stand-ins of their models (rank 0).</summary>
    private void Unpack(byte[][] parts, TMetrics[]? received)
    {
        for (int r = 1; r < parts.Length; r++)
        {
            using var reader = new BinaryReader(new MemoryStream(parts[r]), Encoding.UTF8);
            int count = reader.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                int m = reader.ReadInt32();
                var standIn = m >= 0 && m < standIns.Length ? standIns[m] : null;
                if (standIn is null)
                    throw new InvalidOperationException($"rank {r} sent model {m}, which it does not train");
                int columns = reader.ReadInt32();
                if (columns >= 0)
                {
                    var values = new double[columns];
                    for (int c = 0; c < columns; c++)
                        values[c] = reader.ReadDouble();
                    var metrics = TMetrics.FromColumns(values);
                    standIn.Metrics = metrics;
                    if (received is not null)
                        received[m] = metrics;
                }
                if (reader.ReadBoolean())
                    standIn.State = StateBytes.Read(reader);
            }
        }
    }

    /// <summary>What failed on a rank: a model's divergence (its index and its trainer's message) or another error (its message).</summary>
    private sealed record Failure(bool Diverged, int Model, string Message)
    {
        public string Encode() => FormattableString.Invariant($"{(Diverged ? 1 : 0)} {Model} {Message}");

        public static Failure Decode(string text)
        {
            var parts = text.Split(' ', 3);
            return new Failure(parts[0] == "1", int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts.Length > 2 ? parts[2] : "");
        }
    }

    /// <summary>
    /// The trainer of a model that another rank trains, as rank 0's session of it sees it: it
    /// stands at the place of rank 0's own models (the grid's models advance together), its state
    /// is the last one the model's rank sent, and it never steps.
    /// </summary>
    private sealed class StandIn(ITrainer lead) : ITrainer<TMetrics>
    {
        private int? epochs;

        public byte[]? State { get; set; }

        public bool HasState => State is not null;

        public TMetrics? Metrics { get; set; }

        public string ModelName => lead.ModelName;

        public int Epoch => lead.Epoch;

        public int StepInEpoch => lead.StepInEpoch;

        public long Step => lead.Step;

        public int StepsPerEpoch => lead.StepsPerEpoch;

        public int Epochs
        {
            get => epochs ?? lead.Epochs;
            set => epochs = TrainerExtensions.CheckedEpochs(value);
        }

        public double LearningRate { get; set; } = double.NaN;

        public void TrainStep() => throw new InvalidOperationException("this model is trained on another rank of the MPI job");

        public TMetrics EndEpoch() => Metrics ?? throw new InvalidOperationException("no figures received from the model's rank");

        // A new set at every call: the session adds its metadata and history to the set it gets.
        public TensorSet SaveState()
        {
            if (State is null)
                throw new InvalidOperationException("no state received from the model's rank");
            using var reader = new BinaryReader(new MemoryStream(State), Encoding.UTF8);
            return StateBytes.ToSet(reader);
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>A trainer's state as bytes for the wire between ranks: its metadata and tensors, exactly (not a file: no checksum, no header).</summary>
internal static class StateBytes
{
    /// <summary>Writes the set's metadata and tensors, length-prefixed, to <paramref name="w"/>.</summary>
    public static void Write(BinaryWriter w, TensorSet set)
    {
        using var buffer = new MemoryStream();
        using (var inner = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            inner.Write(set.Metadata.Count);
            foreach (var (k, v) in set.Metadata)
            {
                inner.Write(k);
                inner.Write(v);
            }
            inner.Write(set.Tensors.Count);
            foreach (var (name, t) in set.Tensors)
            {
                inner.Write(name);
                inner.Write(t.DType);
                inner.Write(t.Shape.Length);
                foreach (long d in t.Shape)
                    inner.Write(d);
                inner.Write(t.Data.Length);
                inner.Write(t.Data);
            }
        }
        w.Write(checked((int)buffer.Length));
        w.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The bytes <see cref="Write"/> wrote (length-prefixed), unparsed.</summary>
    public static byte[] Read(BinaryReader r)
    {
        int length = r.ReadInt32();
        var bytes = r.ReadBytes(length);
        if (bytes.Length != length)
            throw new InvalidOperationException($"a model's state was cut short ({bytes.Length} of {length} bytes)");
        return bytes;
    }

    /// <summary>The set that <see cref="Write"/> wrote (without its length prefix), rebuilt.</summary>
    public static TensorSet ToSet(BinaryReader r)
    {
        var set = new TensorSet();
        int metadata = r.ReadInt32();
        for (int i = 0; i < metadata; i++)
        {
            string k = r.ReadString();
            set.Metadata[k] = r.ReadString();
        }
        int tensors = r.ReadInt32();
        for (int i = 0; i < tensors; i++)
        {
            string name = r.ReadString();
            string dtype = r.ReadString();
            var shape = new long[r.ReadInt32()];
            for (int d = 0; d < shape.Length; d++)
                shape[d] = r.ReadInt64();
            int length = r.ReadInt32();
            set.Add(name, new Tensor(dtype, shape, r.ReadBytes(length)));
        }
        return set;
    }
}
