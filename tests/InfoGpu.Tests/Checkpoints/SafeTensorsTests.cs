using System.Buffers.Binary;
using System.Text;
using InfoGpu.Checkpoints;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Checkpoints;

public class SafeTensorsTests
{
    private static TensorSet Sample()
    {
        var set = new TensorSet();
        set.Add("w", [1f, -2.5f, 3.25f, float.Epsilon, 0f, 7f], 2, 3);
        set.Add("rng", new long[] { long.MaxValue, -1 });
        set.Add("order", new[] { 3, 1, 2, 0 });
        set.Add("sum", new[] { Math.PI });
        set.Metadata["config"] = "{\"hidden\": 3}";
        set.Metadata["epoch"] = "4";
        return set;
    }

    [Fact]
    public void RoundTripsEveryTypeAndTheMetadata()
    {
        string path = Path.Combine(TestPaths.TempDir(), "sub", "model.safetensors");
        SafeTensors.Write(path, Sample());
        var back = SafeTensors.Read(path);
        Assert.Equal([1f, -2.5f, 3.25f, float.Epsilon, 0f, 7f], back.GetFloat("w"));
        Assert.Equal([2L, 3L], back.Tensors["w"].Shape);
        Assert.Equal([long.MaxValue, -1L], back.GetInt64("rng"));
        Assert.Equal([3, 1, 2, 0], back.GetInt32("order"));
        Assert.Equal([Math.PI], back.GetDouble("sum"));
        Assert.Equal("4", back.GetMetadata("epoch"));
        Assert.False(back.Metadata.ContainsKey(SafeTensors.ChecksumKey));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left behind
    }

    [Fact]
    public void FileFollowsTheSafetensorsLayout()
    {
        string path = Path.Combine(TestPaths.TempDir(), "m.safetensors");
        SafeTensors.Write(path, Sample());
        var bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.Contains("\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":", header);
        Assert.Contains("\"__metadata__\"", header);
        Assert.Equal(8 + n + (6 * 4) + (2 * 8) + (4 * 4) + 8, bytes.Length);
    }

    [Fact]
    public void FlippedByteAndTruncationAreReportedAsCorrupt()
    {
        string path = Path.Combine(TestPaths.TempDir(), "model.safetensors");
        SafeTensors.Write(path, Sample());
        var good = File.ReadAllBytes(path);
        var flipped = (byte[])good.Clone();
        flipped[^3] ^= 0x10;
        File.WriteAllBytes(path, flipped);
        var e = Assert.Throws<InfoGpuException>(() => SafeTensors.Read(path));
        Assert.Equal($"checkpoint {path} is corrupt: checksum mismatch", e.Message);
        File.WriteAllBytes(path, good[..^5]);
        e = Assert.Throws<InfoGpuException>(() => SafeTensors.Read(path));
        Assert.Contains("is corrupt: truncated", e.Message);
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("hello world, not a checkpoint"));
        e = Assert.Throws<InfoGpuException>(() => SafeTensors.Read(path));
        Assert.Contains("not a safetensors file", e.Message);
    }

    [Fact]
    public void MissingTensorsAndWrongTypesNameTheTensor()
    {
        string path = Path.Combine(TestPaths.TempDir(), "model.safetensors");
        SafeTensors.Write(path, Sample());
        var back = SafeTensors.Read(path);
        Assert.Contains("no tensor 'momentum'", Assert.Throws<InfoGpuException>(() => back.GetFloat("momentum")).Message);
        Assert.Contains("'w' is F32, expected F64", Assert.Throws<InfoGpuException>(() => back.GetDouble("w")).Message);
    }

    [Fact]
    public void OverwritingIsAtomic()
    {
        string path = Path.Combine(TestPaths.TempDir(), "model.safetensors");
        SafeTensors.Write(path, Sample());
        var set = Sample();
        set.Metadata["epoch"] = "5";
        SafeTensors.Write(path, set);
        Assert.Equal("5", SafeTensors.Read(path).GetMetadata("epoch"));
    }

    [Fact]
    public void TemporariesOfKilledWritersAreRemovedByTheNextWrite()
    {
        string dir = TestPaths.TempDir();
        string path = Path.Combine(dir, "model.safetensors");
        // A writer killed mid-write leaves name.tmp-PID; PID 2^31 - 2 is not a running process.
        string stale = path + ".tmp-2147483646";
        File.WriteAllBytes(stale, [1, 2, 3]);
        string other = Path.Combine(dir, "other.safetensors.tmp-2147483646"); // another file's: left alone
        File.WriteAllBytes(other, [1]);
        string notOurs = path + ".tmp-notapid";
        File.WriteAllBytes(notOurs, [1]);
        SafeTensors.Write(path, Sample());
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(other));
        Assert.True(File.Exists(notOurs));
        Assert.Equal("4", SafeTensors.Read(path).GetMetadata("epoch"));
    }
}
