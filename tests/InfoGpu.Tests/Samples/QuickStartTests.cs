using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Samples;

/// <summary>The README's embedding example (samples/QuickStart) is compiled with the tests and runs.</summary>
public class QuickStartTests
{
    private static readonly object ConsoleLock = new();

    [Fact]
    public void SampleComputesTheEntropyTrainsAnRbmAndResumesIt()
    {
        string dir = TestPaths.TempDir();
        var first = Run(dir);
        Assert.Contains("H(1/2, 1/4, 1/4) = 1.5 bits", first);
        Assert.Equal(["epoch 1", "epoch 2"], Epochs(first));
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")), "the session wrote no checkpoint");
        // A second run finds the checkpoint and trains two more epochs from it.
        Assert.Equal(["epoch 3", "epoch 4"], Epochs(Run(dir)));
        Assert.Equal(5, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length);
    }

    private static List<string> Epochs(string text) =>
        text.Split('\n').Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).Select(l => l[..l.IndexOf(':', StringComparison.Ordinal)]).ToList();

    private static string Run(string dir)
    {
        var entry = System.Reflection.Assembly.Load("QuickStart").EntryPoint!;
        var output = new StringWriter();
        lock (ConsoleLock)
        {
            var previous = System.Console.Out;
            System.Console.SetOut(output);
            try
            {
                Environment.SetEnvironmentVariable("INFOGPU_ACCELERATOR", null);
                entry.Invoke(null, [new[] { dir }]);
            }
            finally
            {
                System.Console.SetOut(previous);
            }
        }
        return output.ToString();
    }
}
