using System.Text.Json.Nodes;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Measures;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu measure examples</c>: every worked example of the chapter.</summary>
internal sealed class ExamplesCommand : ICommand
{
    public CommandSpec Spec { get; } = new(
        "measure examples",
        "reproduce every worked example of the information-theory chapter",
        "[--precision single|double] [--plot DIR] [--json]",
        [
            OptionSpec.Choice("precision", "single (float32 on the device) or double (float64 on the host); float32 and float64 name them too", ["single", "double", "float32", "float64"], "single"),
            OptionSpec.File("plot", "DIR", "also write binary_entropy.png and confidence_loss.png to DIR"),
            CommandSpec.Accelerator,
        ],
        ["infogpu measure examples", "infogpu measure examples --json --precision double", "infogpu measure examples --plot out/"]);

    public int Run(CommandContext context)
    {
        var precision = context.Args.GetOrDefault("precision") switch
        {
            null or "single" or "float32" => Precision.Single,
            "double" or "float64" => Precision.Double,
            var other => throw new UsageException($"--precision '{other}' is not single or double"),
        };
        bool needDevice = precision == Precision.Single || context.Args.Has("plot");
        using var device = needDevice ? DeviceOption.Open(context) : null;
        var measures = device is null ? null : new InformationMeasures(device);
        var examples = ChapterExamples.Compute(measures, precision);
        if (context.Args.Get("plot") is string dir)
            WritePlots(measures!, dir, context);
        if (context.Args.Json)
        {
            var o = new JsonObject();
            foreach (var (key, value) in examples)
                o[key] = Json.Number(value);
            Json.Write(context.Out, o);
            return 0;
        }
        var t = new Table("example", "value");
        foreach (var (key, value) in examples)
            t.Add(key, value);
        context.Out.Write(t.ToString());
        return 0;
    }

    /// <summary>The binary-entropy curve H(p, 1-p) in bits and the loss -ln(confidence) of a correct prediction.</summary>
    internal static void WritePlots(InformationMeasures m, string dir, CommandContext context)
    {
        const int n = 201;
        var px = new double[n];
        var rows = new float[2 * n];
        for (int i = 0; i < n; i++)
        {
            px[i] = (double)i / (n - 1);
            rows[2 * i] = (float)px[i];
            rows[2 * i + 1] = 1f - (float)px[i];
        }
        var h = m.Entropy(rows, 2, LogBase.Bits).Select(v => (double)v).ToArray();
        string entropyPath = Path.Combine(dir, "binary_entropy.png");
        Plots.Lines(entropyPath, "Binary entropy", "p = P(X = 1)", "H(X) (bits)", ("H(p)", px, h));

        var conf = Enumerable.Range(0, 50).Select(ChapterExamples.Confidence).ToArray();
        var logits = conf.SelectMany(c => ChapterExamples.ConfidenceLogits(c).Select(v => (float)v)).ToArray();
        var loss = m.CrossEntropyFromLogits(logits, new int[conf.Length], 3).Select(v => (double)v).ToArray();
        string lossPath = Path.Combine(dir, "confidence_loss.png");
        Plots.Lines(lossPath, "Cross-entropy of a correct prediction", "confidence in the true class", "loss (nats)", ("-ln(confidence)", conf, loss));
        context.Note($"wrote {entropyPath} and {lossPath}");
    }
}
