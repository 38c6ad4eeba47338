using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using InfoGpu.Tests.Infrastructure;
using Xunit.Abstractions;

namespace InfoGpu.Tests.Kernels;

/// <summary>
/// Every kernel's PTX as the CUDA path emits it for an H100 (SM_90, PTX ISA 7.8, the
/// production context options; ILGPU writes <c>.target sm_80</c>, the lowest architecture with
/// the capabilities it uses, and the driver compiles that for sm_90): free of the GPU's
/// approximate math instructions, and accepted by NVIDIA's assembler <c>ptxas -arch=sm_90</c>,
/// whose register and spill counts each test prints. ptxas comes from <c>INFOGPU_PTXAS</c> (.ci/run fetches it from Debian's non-free CUDA
/// toolkit), else from <c>ptxas</c> on the PATH or /usr/local/cuda/bin; without it those tests
/// are skipped and say so. <c>INFOGPU_DUMP_PTX=folder</c> also writes each assembled kernel's PTX there.
/// </summary>
public partial class PtxAssemblyTests(ITestOutputHelper output)
{
    public static TheoryData<string> KernelNames() => CodeGenerationTests.KernelNames();

    /// <summary>The kernel's PTX with the options of the <c>cuda</c> device (ComputeDevice.OpenIlgpu) at SM_90 / ISA 7.8.</summary>
    internal static string Ptx(string name) => Ptx(CodeGenerationTests.Find(name));

    private static string Ptx(System.Reflection.MethodInfo kernel)
    {
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_78, null!);
        var compiled = (PTXCompiledKernel)backend.Compile(CodeGenerationTests.Entry(kernel), KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }

    /// <summary>A kernel with the runtime's float functions, to show what the scan below looks for.</summary>
    internal static void RuntimeMathProbeKernel(ILGPU.Index1D i, ArrayView<float> x) =>
        x[i] = MathF.Log(x[i]) + MathF.Exp(x[i]) + MathF.Sin(x[i]) + MathF.Cos(x[i]);

    [Fact]
    public void TheScanFindsTheApproximationsMathFBecomes()
    {
        string ptx = Ptx(typeof(PtxAssemblyTests).GetMethod(nameof(RuntimeMathProbeKernel), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!);
        foreach (string op in new[] { "lg2.approx", "ex2.approx", "sin.approx", "cos.approx" })
            Assert.Contains(op, ptx);
        Assert.Matches(ApproximateInstruction(), ptx);
    }

    /// <summary>
    /// What ILGPU emits for MathF.Log/Exp/Sin/Cos (lg2, ex2, sin, cos .approx), for MathF.Tanh
    /// and reciprocal square roots, and under fast math for division and square roots: none of
    /// the kernels may use them (AccurateMath replaces the first four; division and square
    /// root must stay the rounded div.rn and sqrt.rn).
    /// </summary>
    [GeneratedRegex(@"\b(lg2|ex2|sin|cos|tanh|rsqrt|rcp|sqrt|div)\.approx\b")]
    private static partial Regex ApproximateInstruction();

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void UsesNoApproximateMath(string name)
    {
        string ptx = Ptx(name);
        Assert.Contains(".version 7.8", ptx);
        var found = ptx.Split('\n').Where(l => ApproximateInstruction().IsMatch(l)).Select(l => l.Trim()).Distinct().Take(5).ToList();
        Assert.True(found.Count == 0, $"{name} uses approximate GPU math: {string.Join("; ", found)}");
    }

    [SkippableTheory]
    [MemberData(nameof(KernelNames))]
    public void PtxasAssemblesForSm90(string name)
    {
        Assert.True(PtxasVariableProblem is null, PtxasVariableProblem);
        Skip.If(Ptxas is null, "ptxas not found (set INFOGPU_PTXAS; .ci/run fetches it from Debian's nvidia-cuda-toolkit): PTX not assembled");
        string dir = TestPaths.TempDir();
        string file = Path.Combine(dir, "kernel.ptx");
        File.WriteAllText(file, Ptx(name));
        var psi = new ProcessStartInfo(Ptxas!, ["-arch=sm_90", "-v", "-o", Path.Combine(dir, "kernel.cubin"), file])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string log = process.StandardError.ReadToEnd() + stdout.Result;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"ptxas rejected the PTX of {name}:\n{string.Join('\n', log.Split('\n').Take(20))}");
        var report = Report(log);
        if (Environment.GetEnvironmentVariable("INFOGPU_DUMP_PTX") is { Length: > 0 } dump)
            File.WriteAllText(Path.Combine(dump, name.Replace('<', '_').Replace('>', '_').Replace(',', '_') + ".ptx"), Ptx(name));
        output.WriteLine($"{name}: {report}");
        Directory.Delete(dir, true);
    }

    /// <summary>"R registers, S bytes spill stores, L bytes spill loads, M bytes stack" from ptxas -v.</summary>
    internal static string Report(string log)
    {
        static string Find(string log, string pattern) =>
            Regex.Match(log, pattern) is { Success: true } m ? m.Groups[1].Value : "?";
        return string.Create(CultureInfo.InvariantCulture, $"{Find(log, @"Used (\d+) registers")} registers, {Find(log, @"(\d+) bytes spill stores")} bytes spill stores, {Find(log, @"(\d+) bytes spill loads")} bytes spill loads, {Find(log, @"(\d+) bytes stack frame")} bytes stack frame");
    }

    /// <summary>INFOGPU_PTXAS when set, else ptxas on the PATH or in /usr/local/cuda/bin; null when none runs.</summary>
    internal static readonly string? Ptxas = FindPtxas(out PtxasVariableProblem);

    /// <summary>Why the ptxas named by INFOGPU_PTXAS does not run (the tests then fail: a named assembler must work); null otherwise.</summary>
    private static readonly string? PtxasVariableProblem;

    private static string? FindPtxas(out string? problem)
    {
        problem = null;
        if (Environment.GetEnvironmentVariable("INFOGPU_PTXAS") is { Length: > 0 } given)
        {
            if (Runs(given))
                return given;
            problem = $"INFOGPU_PTXAS={given} does not run (ptxas --version failed)";
            return null;
        }
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "ptxas"))
            .Append("/usr/local/cuda/bin/ptxas");
        return candidates.FirstOrDefault(Runs);
    }

    private static bool Runs(string path)
    {
        if (!File.Exists(path))
            return false;
        try
        {
            using var p = Process.Start(new ProcessStartInfo(path, ["--version"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
