using System.Diagnostics;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Repository;

/// <summary>
/// benchmarks/gpu-check.sh stops with one clear line where it cannot check a GPU: no bundle, a
/// machine without the NVIDIA driver's library, a device the console does not list. Run against
/// a stand-in bundle whose <c>bin/infogpu</c> lists only cpu (the real end-to-end run, with the
/// published console and the simulated GPU, is <c>INFOGPU_CHECK_DEVICE=ilgpu-cpu</c>; see
/// benchmarks/RESULTS.md).
/// </summary>
public class GpuCheckScriptTests
{
    private static string Script => Path.Combine(TestPaths.RepoRoot, "benchmarks", "gpu-check.sh");

    private static (int Code, string Err) Run(string device, params string[] args)
    {
        var psi = new ProcessStartInfo("bash", [Script, .. args])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = TestPaths.TempDir(),
        };
        psi.Environment["INFOGPU_CHECK_DEVICE"] = device;
        psi.Environment["PYTHON"] = "/nonexistent/python3";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        _ = stdout.Result;
        p.WaitForExit();
        return (p.ExitCode, err);
    }

    /// <summary>A bundle folder whose console lists only the cpu device.</summary>
    private static string StandInBundle()
    {
        string root = Path.Combine(TestPaths.TempDir(), "infogpu-gpu");
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        string bin = Path.Combine(root, "bin", "infogpu");
        File.WriteAllText(bin, "#!/bin/sh\necho '{\"devices\": [{\"kind\": \"cpu\", \"gemm\": \"cpu blocked SIMD\"}], \"default\": \"cpu\"}'\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(bin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return root;
    }

    [Fact]
    public void WithoutABundleItSaysHowToGiveOne()
    {
        var (code, err) = Run("cuda", "/nonexistent/infogpu-gpu.tar.xz");
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", err.Split('\n').Last(l => l.Length > 0));
        Assert.Contains("no bundle given", err);
    }

    [Fact]
    public void ADeviceTheConsoleDoesNotListStopsTheCheck()
    {
        string bundle = StandInBundle();
        string outDir = Path.Combine(TestPaths.TempDir(), "out");
        var (code, err) = Run("opencl", bundle, outDir);
        Assert.Equal(1, code);
        Assert.Contains("error: infogpu lists no 'opencl' device (listed: cpu", err);
        Assert.False(File.Exists(Path.Combine(outDir, "gpu-check.json")));
    }

    [SkippableFact]
    public void CudaWithoutTheDriverLibraryStopsTheCheck()
    {
        bool driver = new[] { "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1", "/usr/lib/libcuda.so.1" }.Any(File.Exists);
        Skip.If(driver, "this machine has the NVIDIA driver's libcuda.so.1");
        var (code, err) = Run("cuda", StandInBundle(), Path.Combine(TestPaths.TempDir(), "out"));
        Assert.Equal(1, code);
        Assert.True(
            err.Contains("error: no libcuda.so.1", StringComparison.Ordinal) || err.Contains("error: infogpu lists no 'cuda' device", StringComparison.Ordinal),
            err);
    }
}
