namespace InfoGpu.Tests.Samples;

/// <summary>The README's embedding example (samples/QuickStart) is compiled with the tests and runs.</summary>
public class QuickStartTests
{
    private static readonly object ConsoleLock = new();

    [Fact]
    public void SampleComputesTheEntropyAndTrainsAnRbm()
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
                entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            }
            finally
            {
                System.Console.SetOut(previous);
            }
        }
        string text = output.ToString();
        Assert.Contains("H(1/2, 1/4, 1/4) = 1.5 bits", text);
        var epochs = text.Split('\n').Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, epochs.Count);
    }
}
