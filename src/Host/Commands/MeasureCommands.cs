using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Measures;

namespace InfoGpu.Host.Commands;

/// <summary>The <c>infogpu measure ...</c> commands: information measures from the console.</summary>
internal static class MeasureCommands
{
    /// <summary>The spellings of --precision.</summary>
    private static readonly string[] Precisions = ["single", "double", "float32", "float64"];
    private static readonly OptionSpec Base = OptionSpec.Text("base", "B", "logarithm base: 2 (bits), e (nats, default), 10 or any number");
    private static readonly OptionSpec PrecisionOpt = OptionSpec.Choice("precision", "single (float32 on the device) or double (float64 on the host); float32 and float64 name them too", Precisions, "single");
    private static readonly OptionSpec ExactPrecisionOpt = OptionSpec.Choice("precision", "double (float64 on the host, exact to about 1e-15 relative) or single (float32 on the device, for batches; error up to 2^-22 (H(X) + H(Y) + H(X,Y) + 1)); float64 and float32 name them too", Precisions, "double");
    private static readonly OptionSpec Normalize = OptionSpec.Flag("normalize", "divide each row by its sum instead of requiring it to sum to 1");
    private static readonly OptionSpec P = OptionSpec.Numbers("p", "LIST", "distribution p, comma-separated, e.g. 0.2,0.8");
    private static readonly OptionSpec Q = OptionSpec.Numbers("q", "LIST", "distribution q, same length as p");
    private static readonly OptionSpec PCsv = OptionSpec.File("p-csv", "FILE", "batched: one distribution p per line");
    private static readonly OptionSpec QCsv = OptionSpec.File("q-csv", "FILE", "batched: one distribution q per line, paired with p row by row");
    /// <summary>The CSV field separator option of every command that reads a CSV file.</summary>
    internal static readonly OptionSpec Delimiter = OptionSpec.Text("delimiter", "C", "CSV field separator: a character, or tab, comma, semicolon, space, pipe (default: detected from the first line: comma, semicolon or tab)");
    private static readonly OptionSpec Epsilon = OptionSpec.Double("epsilon", "E", "use the textbook's variant: clip p and q to [E, 1] (e.g. 1e-10); default exact");

    public static IReadOnlyList<ICommand> All { get; } =
    [
        new Measure(
            new CommandSpec("measure entropy", "entropy H(p) of a distribution, or of every row of a CSV file",
                "(--p LIST | --csv FILE) [--base B]",
                [P, OptionSpec.File("csv", "FILE", "batched: one distribution per line (.csv, .csv.gz or a .npy matrix)"), Delimiter, Base, Normalize, PrecisionOpt, CommandSpec.Accelerator],
                ["infogpu measure entropy --p 0.2,0.8 --base 2", "infogpu measure entropy --csv rows.csv --json"]),
            "H(p)",
            Entropy),
        new Measure(
            new CommandSpec("measure self-info", "self-information -log p of each probability",
                "--p LIST [--base B]",
                [P, Base, PrecisionOpt, CommandSpec.Accelerator],
                ["infogpu measure self-info --p 0.5,0.25,0.01 --base 2"]),
            "I(p)",
            SelfInformation),
        new Measure(
            new CommandSpec("measure kl", "Kullback-Leibler divergence KL(p || q)",
                "(--p LIST --q LIST | --p-csv FILE --q-csv FILE) [--epsilon E] [--base B]",
                [P, Q, PCsv, QCsv, Delimiter, Epsilon, Base, Normalize, PrecisionOpt, CommandSpec.Accelerator],
                ["infogpu measure kl --p 0.5,0.5 --q 0.9,0.1", "infogpu measure kl --p 0.5,0.5,0 --q 0.5,0,0.5 --epsilon 1e-10"]),
            "KL(p||q)",
            (c, m) => Pairwise(c, m, Kind.Kl)),
        new Measure(
            new CommandSpec("measure cross-entropy", "cross-entropy H(p, q) = -sum p log q",
                "(--p LIST --q LIST | --p-csv FILE --q-csv FILE) [--base B]",
                [P, Q, PCsv, QCsv, Delimiter, Base, Normalize, PrecisionOpt, CommandSpec.Accelerator],
                ["infogpu measure cross-entropy --p 1,0,0 --q 0.7,0.2,0.1"]),
            "H(p,q)",
            (c, m) => Pairwise(c, m, Kind.CrossEntropy)),
        new Measure(
            new CommandSpec("measure js", "Jensen-Shannon divergence (or, with --distance, its square root)",
                "(--p LIST --q LIST | --p-csv FILE --q-csv FILE) [--distance] [--epsilon E] [--base B]",
                [P, Q, PCsv, QCsv, Delimiter, OptionSpec.Flag("distance", "print the JS distance sqrt(JS), as scipy's jensenshannon"), Epsilon, Base, Normalize, PrecisionOpt, CommandSpec.Accelerator],
                ["infogpu measure js --p 0.5,0.5 --q 0.9,0.1 --distance --base 2"]),
            "JS(p,q)",
            (c, m) => Pairwise(c, m, Kind.Js)),
        new Measure(
            new CommandSpec("measure joint", "H(X), H(Y), H(X,Y), H(X|Y), H(Y|X) and I(X;Y) of a joint table",
                "--table \"a,b;c,d\" [--base B]",
                [OptionSpec.Text("table", "ROWS", "the joint table: rows (X) separated by ';', columns (Y) by ','"), Base, Normalize, ExactPrecisionOpt, CommandSpec.Accelerator],
                ["infogpu measure joint --table \"0.2,0.1;0.15,0.55\" --base 2"]),
            "joint",
            Joint,
            Precision.Double),
        new Measure(
            new CommandSpec("measure mi", "mutual information of paired discrete samples (exact float64 by default; --precision single counts on the device)",
                "(--x LIST --y LIST | --csv FILE --x COL --y COL) [--base B]",
                [OptionSpec.Text("x", "LIST|COL", "samples of X (integers, comma-separated), or with --csv a column name or number"), OptionSpec.Text("y", "LIST|COL", "samples of Y (integers, comma-separated), or with --csv a column name or number"),
                 OptionSpec.File("csv", "FILE", "read the samples from two columns of a CSV file (text columns are categories)"), Delimiter, Base, ExactPrecisionOpt, CommandSpec.Accelerator],
                ["infogpu measure mi --x 0,0,1,1 --y 0,1,1,1 --base 2", "infogpu measure mi --csv data.csv --x weather --y umbrella"]),
            "I(X;Y)",
            MutualInformation,
            Precision.Double),
        new ExamplesCommand(),
        .. MeasureLossCommands.All,
    ];

    /// <summary>--base: a bad base is a usage error (exit 2), like every other malformed option.</summary>
    internal static LogBase ParseBase(string? text)
    {
        try
        {
            return LogBase.Parse(text ?? "e");
        }
        catch (InfoGpuException e)
        {
            throw new UsageException("--base: " + e.Message);
        }
    }

    private enum Kind
    {
        Kl,
        CrossEntropy,
        Js,
    }

    /// <summary>A measure command: parses its inputs, computes on the device (or in float64), prints.</summary>
    private sealed class Measure(CommandSpec spec, string label, Func<CommandContext, MeasureSession, Result> compute, Precision defaultPrecision = Precision.Single) : ICommand
    {
        public CommandSpec Spec { get; } = spec;

        public int Run(CommandContext context)
        {
            var precision = ParsePrecision(context.Args, defaultPrecision);
            using var device = precision == Precision.Single ? DeviceOption.Open(context) : null;
            var session = new MeasureSession(
                device is null ? null : new InformationMeasures(device),
                ParseBase(context.Args.Get("base")),
                new DistributionOptions(context.Args.Declares("normalize") && context.Args.Has("normalize"), precision == Precision.Single ? DistributionOptions.Float32Tolerance : DistributionOptions.Float64Tolerance));
            var result = compute(context, session);
            if (context.Args.Json)
            {
                var o = result.Json ?? new JsonObject();
                o["values"] ??= Json.Array(result.Values);
                if (result.Values.Count == 1 && result.Json is null)
                    o["value"] = Json.Number(result.Values[0]);
                o["unit"] = session.Base.Unit;
                o["base"] = Json.Number(session.Base.Value);
                o["precision"] = precision == Precision.Double ? "double" : "single";
                Json.Write(context.Out, o);
            }
            else if (result.Text is string text)
            {
                context.Out.Write(text);
            }
            else if (result.Values.Count == 1)
            {
                context.Out.WriteLine($"{label} = {Table.Num(result.Values[0])} {session.Base.Unit}");
            }
            else
            {
                var t = new Table("row", $"{label} ({session.Base.Unit})");
                for (int i = 0; i < result.Values.Count; i++)
                    t.Add(i, result.Values[i]);
                context.Out.Write(t.ToString());
            }
            return 0;
        }
    }

    private sealed record MeasureSession(InformationMeasures? Device, LogBase Base, DistributionOptions Options)
    {
        public bool Double => Device is null;
    }

    private sealed record Result(IReadOnlyList<double> Values, JsonObject? Json = null, string? Text = null);

    private static Precision ParsePrecision(Args args, Precision fallback) => args.Get("precision") switch
    {
        null => fallback,
        "single" or "float32" => Precision.Single,
        "double" or "float64" => Precision.Double,
        var other => throw new UsageException($"--precision '{other}' is not single or double"),
    };

    private static Result Entropy(CommandContext c, MeasureSession s)
    {
        var (rows, cols) = Rows(c.Args, "p", "csv");
        if (s.Double)
            return new(Enumerable.Range(0, rows.Length / cols).Select(r => InformationMeasures64.Entropy(rows.AsSpan(r * cols, cols), s.Base, s.Options)).ToList());
        return new(ToDoubles(s.Device!.Entropy(ToFloats(rows), cols, s.Base, s.Options)));
    }

    private static Result SelfInformation(CommandContext c, MeasureSession s)
    {
        var p = c.Args.GetList("p");
        if (s.Double)
            return new(p.Select(v => InformationMeasures64.SelfInformation(v, s.Base)).ToList());
        return new(ToDoubles(s.Device!.SelfInformation(ToFloats(p), s.Base)));
    }

    private static Result Pairwise(CommandContext c, MeasureSession s, Kind kind)
    {
        var (p, pc) = Rows(c.Args, "p", "p-csv");
        var (q, qc) = Rows(c.Args, "q", "q-csv");
        if (pc != qc || p.Length != q.Length)
            throw new InfoGpuException($"p and q differ in shape ({p.Length / pc}x{pc} and {q.Length / qc}x{qc}); pair them row by row with equal lengths");
        double? eps = c.Args.Declares("epsilon") && c.Args.Has("epsilon") ? c.Args.GetDouble("epsilon", 0) : null;
        if (eps is not null && kind == Kind.CrossEntropy)
            throw new UsageException("--epsilon applies to kl and js only");
        bool distance = c.Args.Declares("distance") && c.Args.Has("distance");
        int rows = p.Length / pc;
        if (s.Double)
        {
            var values = new List<double>(rows);
            for (int r = 0; r < rows; r++)
            {
                var pr = p.AsSpan(r * pc, pc);
                var qr = q.AsSpan(r * pc, pc);
                values.Add(kind switch
                {
                    Kind.Kl => InformationMeasures64.KlDivergence(pr, qr, s.Base, eps, s.Options),
                    Kind.CrossEntropy => InformationMeasures64.CrossEntropy(pr, qr, s.Base, s.Options),
                    _ => distance
                        ? InformationMeasures64.JensenShannonDistance(pr, qr, s.Base, eps, s.Options)
                        : InformationMeasures64.JensenShannon(pr, qr, s.Base, eps, s.Options),
                });
            }
            return new(values);
        }
        var fp = ToFloats(p);
        var fq = ToFloats(q);
        float? feps = eps is double e ? (float)e : null;
        var m = s.Device!;
        return new(ToDoubles(kind switch
        {
            Kind.Kl => m.KlDivergence(fp, fq, pc, s.Base, feps, s.Options),
            Kind.CrossEntropy => m.CrossEntropy(fp, fq, pc, s.Base, s.Options),
            _ => distance ? m.JensenShannonDistance(fp, fq, pc, s.Base, feps, s.Options) : m.JensenShannon(fp, fq, pc, s.Base, feps, s.Options),
        }));
    }

    private static Result Joint(CommandContext c, MeasureSession s)
    {
        string text = c.Args.Require("table");
        var rowTexts = text.Split(';');
        var rows = rowTexts.Select((r, i) => Args.ParseList($"table (row {i + 1})", r)).ToList();
        int ny = rows[0].Length;
        if (rows.Any(r => r.Length != ny))
            throw new UsageException($"--table: rows have different lengths ({string.Join(", ", rows.Select(r => r.Length))}); every row needs {ny} columns");
        var flat = rows.SelectMany(r => r).ToArray();
        var j = s.Double
            ? InformationMeasures64.Joint(flat, rows.Count, ny, s.Base, s.Options)
            : s.Device!.Joint(ToFloats(flat), rows.Count, ny, s.Base, s.Options)[0];
        return JointResult(j, s.Base);
    }

    private static Result JointResult(JointInformation j, LogBase b)
    {
        var json = new JsonObject
        {
            ["H_X"] = Json.Number(j.HX),
            ["H_Y"] = Json.Number(j.HY),
            ["H_XY"] = Json.Number(j.HXY),
            ["H_X_given_Y"] = Json.Number(j.HXGivenY),
            ["H_Y_given_X"] = Json.Number(j.HYGivenX),
            ["I_XY"] = Json.Number(j.MutualInformation),
        };
        var t = new Table("quantity", $"value ({b.Unit})")
            .Add("H(X)", j.HX).Add("H(Y)", j.HY).Add("H(X,Y)", j.HXY)
            .Add("H(X|Y)", j.HXGivenY).Add("H(Y|X)", j.HYGivenX).Add("I(X;Y)", j.MutualInformation);
        return new([j.HX, j.HY, j.HXY, j.HXGivenY, j.HYGivenX, j.MutualInformation], json, t.ToString());
    }

    private static Result MutualInformation(CommandContext c, MeasureSession s)
    {
        int[] x, y;
        if (c.Args.Get("csv") is string file)
        {
            var csv = CsvTable.Read(file, CsvOptionsFrom(c.Args, null));
            x = csv.Categories(csv.ColumnIndex(c.Args.Require("x")));
            y = csv.Categories(csv.ColumnIndex(c.Args.Require("y")));
        }
        else
        {
            x = c.Args.GetIntList("x");
            y = c.Args.GetIntList("y");
        }
        var j = s.Double ? InformationMeasures64.MutualInformation(x, y, s.Base) : s.Device!.MutualInformation(x, y, s.Base);
        var r = JointResult(j, s.Base);
        r.Json!["value"] = Json.Number(j.MutualInformation);
        r.Json["samples"] = x.Length;
        return r;
    }

    /// <summary>Rows from a list option (one row) or a CSV option (one row per line).</summary>
    private static (double[] Values, int Columns) Rows(Args args, string listOption, string csvOption)
    {
        bool hasList = args.Has(listOption), hasCsv = args.Has(csvOption);
        if (hasList == hasCsv)
            throw new UsageException($"give exactly one of --{listOption} LIST or --{csvOption} FILE");
        if (hasList)
        {
            var v = args.GetList(listOption);
            return (v, v.Length);
        }
        var csv = CsvTable.Read(args.Require(csvOption), CsvOptionsFrom(args, false));
        if (csv.RowCount == 0)
            throw new InfoGpuException($"{csv.Path} has no rows; put one distribution per line");
        return (csv.ToMatrix64(), csv.Columns);
    }

    /// <summary>How to read a CSV file: <c>--delimiter</c> when given (a bad one is a usage error), else detected.</summary>
    internal static CsvOptions CsvOptionsFrom(Args args, bool? hasHeader)
    {
        char? delimiter = null;
        if (args.Get("delimiter") is string d)
        {
            try
            {
                delimiter = CsvOptions.ParseDelimiter(d);
            }
            catch (InfoGpuException e)
            {
                throw new UsageException("--" + e.Message);
            }
        }
        return new CsvOptions(delimiter, hasHeader);
    }

    private static float[] ToFloats(double[] v) => v.Select(x => (float)x).ToArray();

    private static List<double> ToDoubles(float[] v) => v.Select(x => (double)x).ToList();

    internal static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
