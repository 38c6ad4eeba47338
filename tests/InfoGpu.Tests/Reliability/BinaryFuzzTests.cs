using System.Buffers.Binary;
using System.IO.Compression;
using InfoGpu.Checkpoints;
using InfoGpu.Data;

namespace InfoGpu.Tests.Reliability;

/// <summary>Mutated IDX files (raw and gzip) and safetensors checkpoints: only clean errors or valid reads.</summary>
public class BinaryFuzzTests
{
    private const int Iterations = 3000;

    private static void Run(Action body)
    {
        var task = Task.Run(body);
        Assert.True(task.Wait(TimeSpan.FromSeconds(90)), "the fuzz loop hung (over 90 s)");
        task.GetAwaiter().GetResult();
    }

    private static void Clean(Action parse, ref int errors)
    {
        try
        {
            parse();
        }
        catch (InfoGpuException e)
        {
            Assert.DoesNotContain('\n', e.Message);
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            errors++;
        }
    }

    [Fact]
    public void IdxReaderOnlyThrowsCleanErrors()
    {
        var raw = new byte[16 + (4 * 28 * 28)];
        BinaryPrimitives.WriteInt32BigEndian(raw, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4), 4);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(12), 28);
        using var ms = new MemoryStream();
        using (var g = new GZipStream(ms, CompressionLevel.Fastest))
            g.Write(raw);
        var gz = ms.ToArray();
        var labels = new byte[] { 0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3 };
        var m = new Mutator(11);
        int errors = 0;
        Run(() =>
        {
            for (int i = 0; i < Iterations; i++)
            {
                var input = m.Mutate((i % 3) switch { 0 => raw, 1 => gz, _ => labels });
                Clean(() => IdxFile.ReadImages(new MemoryStream(input), "fuzz.idx"), ref errors);
                Clean(() => IdxFile.ReadLabels(new MemoryStream(input), "fuzz.idx"), ref errors);
            }
        });
        Assert.True(errors > Iterations / 2, $"only {errors} of {2 * Iterations} parses failed; the mutator is too weak");
    }

    [Fact]
    public void SafeTensorsReaderOnlyThrowsCleanErrors()
    {
        var set = new TensorSet();
        set.Add("w", Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray(), 3, 4);
        set.Add("step", new long[] { 42 });
        set.Metadata["config"] = "{}";
        string path = Path.Combine(Infrastructure.TestPaths.TempDir(), "m.safetensors");
        SafeTensors.Write(path, set);
        var good = File.ReadAllBytes(path);
        var m = new Mutator(12);
        int errors = 0;
        Run(() =>
        {
            for (int i = 0; i < Iterations; i++)
            {
                var input = m.Mutate(good);
                bool same = input.AsSpan().SequenceEqual(good);
                int before = errors;
                Clean(() => SafeTensors.Parse(input, "fuzz.safetensors"), ref errors);
                // Any change to the bytes that matter must be caught (padding spaces in the header may change harmlessly).
                if (!same && errors == before)
                    Assert.Equal(set.GetFloat("w"), SafeTensors.Parse(input, "x").GetFloat("w"));
            }
        });
        Assert.True(errors > Iterations / 2, $"only {errors} of {Iterations} mutated checkpoints were rejected");
    }
}
