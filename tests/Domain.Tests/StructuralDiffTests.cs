using System.Collections;
using System.Reflection;
using DeployDeck.Domain.Plans;
using DeployDeck.Domain.Units;

namespace DeployDeck.Domain.Tests;

/// <summary>
/// A PUT that changed only labels, volumes or a dependency's condition once answered 200 with the old revision, because
/// the diff compared a hand-picked list of fields. These tests reflect over the plan's records: a field added to
/// <see cref="ServiceSpec"/>, <see cref="PhaseSpec"/> or <see cref="PlanSpec"/> is covered without editing them, and a
/// type the mutator cannot change makes them fail loudly rather than pass.
/// </summary>
public sealed class StructuralDiffTests
{
    private static readonly ServiceSpec Base = Samples.Make<ServiceSpec>() with { Name = "api" };

    public static TheoryData<string> ServiceProperties() => new(SpecWalk.StoredProperties(typeof(ServiceSpec)).Where(p => p.Name != nameof(ServiceSpec.Name)).Select(p => p.Name));

    public static TheoryData<string> PhaseProperties() => new(SpecWalk.StoredProperties(typeof(PhaseSpec)).Where(p => p.Name is not (nameof(PhaseSpec.Name) or nameof(PhaseSpec.Services))).Select(p => p.Name));

    public static TheoryData<string> PlanProperties() => new(SpecWalk.StoredProperties(typeof(PlanSpec)).Where(p => p.Name != nameof(PlanSpec.Phases)).Select(p => p.Name));

    private static PlanSpec Plan(ServiceSpec service) => new([new PhaseSpec { Name = "core", Services = [service] }]);

    [Theory]
    [MemberData(nameof(ServiceProperties))]
    public void A_change_to_any_field_of_a_service_is_a_change(string property)
    {
        var info = typeof(ServiceSpec).GetProperty(property)!;
        var changed = Samples.With(Base, info, Samples.Different(info.PropertyType, info.GetValue(Base)));

        var changes = PlanDiff.Compare(Plan(Base), Plan(changed));

        Assert.True(changes.Count > 0, $"changing {property} from '{SpecWalk.Describe(info.GetValue(Base))}' to '{SpecWalk.Describe(info.GetValue(changed))}' was not seen");
        Assert.All(changes, c => Assert.Equal("service api", c.Where));
        Assert.Empty(PlanDiff.Compare(Plan(changed), Plan(changed)));
    }

    [Theory]
    [MemberData(nameof(ServiceProperties))]
    public void A_change_inside_any_field_of_a_service_is_a_change(string property)
    {
        // Deeper than the field itself: one item of a list, one entry of a dictionary, one property of a record.
        var info = typeof(ServiceSpec).GetProperty(property)!;
        var value = info.GetValue(Base);
        if (value is null || SpecWalk.IsScalar(info.PropertyType))
            return;
        var inner = Samples.ChangeInside(value);

        Assert.NotEmpty(PlanDiff.Compare(Plan(Base), Plan(Samples.With(Base, info, inner))));
    }

    [Theory]
    [MemberData(nameof(PhaseProperties))]
    public void A_change_to_any_setting_of_a_phase_is_a_change(string property)
    {
        var phase = Samples.Make<PhaseSpec>() with { Name = "core", Services = [] };
        var info = typeof(PhaseSpec).GetProperty(property)!;
        var changed = Samples.With(phase, info, Samples.Different(info.PropertyType, info.GetValue(phase)));

        var changes = PlanDiff.Compare(new PlanSpec([phase]), new PlanSpec([changed]));

        Assert.Contains(changes, c => c.Where == "phase core");
    }

    [Theory]
    [MemberData(nameof(PlanProperties))]
    public void A_change_to_any_setting_of_the_plan_is_a_change(string property)
    {
        var plan = Samples.Make<PlanSpec>() with { Phases = [new PhaseSpec { Name = "core" }] };
        var info = typeof(PlanSpec).GetProperty(property)!;
        var changed = Samples.With(plan, info, Samples.Different(info.PropertyType, info.GetValue(plan)));

        Assert.Contains(PlanDiff.Compare(plan, changed), c => c.Where == "plan");
    }

    [Fact]
    public void A_dependency_condition_alone_is_a_change_and_is_shown()
    {
        var before = Base with { DependsOn = [new ServiceDependency("db")] };
        var after = Base with { DependsOn = [new ServiceDependency("db", DependencyCondition.ServiceHealthy)] };

        var change = Assert.Single(PlanDiff.Compare(Plan(before), Plan(after)));

        Assert.Equal("depends on", change.What);
        Assert.Equal("db (ServiceHealthy)", change.After);
    }

    [Fact]
    public void Removing_a_bind_mount_is_a_change()
    {
        var before = Base with { Volumes = [new VolumeMount("bind", "/", "/host"), new VolumeMount("volume", "data", "/data")] };
        var after = Base with { Volumes = [new VolumeMount("volume", "data", "/data")] };

        var change = Assert.Single(PlanDiff.Compare(Plan(before), Plan(after)));

        Assert.Equal("volumes", change.What);
        Assert.Contains("/:/host", change.Before, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_secret_in_a_command_is_a_change_that_shows_no_secret()
    {
        var before = Base with { Command = ["--password", "hunter2"], SecretFields = ["command[1]"] };
        var after = before with { Command = ["--password", "correct-horse"] };

        var change = Assert.Single(PlanDiff.Compare(Plan(before), Plan(after)));

        Assert.DoesNotContain("hunter2", change.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("correct-horse", change.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("(changed)", change.After, StringComparison.Ordinal);
    }

    [Fact]
    public void The_mutator_changes_every_type_a_service_is_made_of()
    {
        // Guards the tests above: a sample that equals its mutation would make them pass without proving anything.
        foreach (var property in SpecWalk.StoredProperties(typeof(ServiceSpec)))
        {
            var value = property.GetValue(Base);
            Assert.False(SpecWalk.SameValue(value, Samples.Different(property.PropertyType, value)), property.Name);
        }
    }
}

/// <summary>Non-default instances of the plan's types and values that differ from them, by reflection.</summary>
internal static class Samples
{
    public static T Make<T>() => (T)Make(typeof(T), 0)!;

    public static T With<T>(T record, PropertyInfo property, object? value)
        where T : notnull
    {
        var clone = typeof(T).GetMethod("<Clone>$")!.Invoke(record, null)!;
        property.SetValue(clone, value);
        return (T)clone;
    }

    public static object? Make(Type type, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
            return Make(underlying, depth);
        if (type == typeof(string))
            return "sample";
        if (type == typeof(bool))
            return true;
        if (type == typeof(TimeSpan))
            return TimeSpan.FromSeconds(30);
        if (type == typeof(DateTimeOffset))
            return new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        if (type == typeof(Guid))
            return new Guid("0193a1b2-0000-7000-8000-000000000001");
        if (type.IsEnum)
            return Enum.GetValues(type).GetValue(Math.Min(1, Enum.GetValues(type).Length - 1));
        if (type.IsPrimitive || type == typeof(decimal))
            return Convert.ChangeType(3, type, System.Globalization.CultureInfo.InvariantCulture);
        if (type == typeof(MemorySize))
            return MemorySize.Parse("64m");
        if (type == typeof(CpuShare))
            return CpuShare.Parse("0.5");
        if (depth > 12)
            throw new InvalidOperationException($"cannot make a {type} this deep");
        if (Element(type) is { } item)
        {
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(item))!;
            list.Add(Make(item, depth + 1));
            return list;
        }

        if (DictionaryValue(type) is { } valueType)
        {
            var dictionary = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), valueType))!;
            dictionary["KEY"] = Make(valueType, depth + 1);
            return dictionary;
        }

        return Construct(type, depth);
    }

    /// <summary>A value of <paramref name="type"/> that is not <paramref name="current"/> (deeply).</summary>
    public static object? Different(Type type, object? current)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (current is null)
            return Make(underlying, 0);
        return current switch
        {
            string s => s + "-changed",
            bool b => !b,
            int i => i + 1,
            long l => l + 1,
            double d => d + 1,
            TimeSpan t => t + TimeSpan.FromSeconds(1),
            DateTimeOffset d => d.AddSeconds(1),
            Guid g => new Guid(g.ToString()[..^1] + (g.ToString()[^1] == '1' ? "2" : "1")),
            MemorySize m => new MemorySize(m.Bytes + 1024 * 1024),
            CpuShare c => new CpuShare(c.NanoCpus + 100_000_000),
            Enum e => NextEnum(e),
            _ when Element(underlying) is { } item => Append((IEnumerable)current, item),
            _ when DictionaryValue(underlying) is { } valueType => Add((IDictionary)current, valueType),
            _ when underlying.GetMethod("<Clone>$") is not null => ChangeInside(current),
            _ => throw new InvalidOperationException($"the test cannot change a {underlying}: teach {nameof(Samples)} this type"),
        };
    }

    /// <summary>The same list, dictionary or record with one item, entry or property changed.</summary>
    public static object ChangeInside(object value)
    {
        switch (value)
        {
            case IDictionary dictionary:
            {
                var copy = Copy(dictionary);
                var key = copy.Keys.Cast<object>().First();
                copy[key] = Different(DictionaryValue(value.GetType())!, copy[key]);
                return copy;
            }

            case IEnumerable items and not string:
            {
                var itemType = Element(value.GetType())!;
                var copy = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(itemType))!;
                foreach (var item in items)
                    copy.Add(item);
                copy[0] = Different(itemType, copy[0]);
                return copy;
            }

            default:
            {
                var type = value.GetType();
                var property = SpecWalk.StoredProperties(type).First();
                var clone = type.GetMethod("<Clone>$")!.Invoke(value, null)!;
                property.SetValue(clone, Different(property.PropertyType, property.GetValue(value)));
                return clone;
            }
        }
    }

    private static object Construct(Type type, int depth)
    {
        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new InvalidOperationException($"the test cannot make a {type}: teach {nameof(Samples)} this type");
        var instance = ctor.Invoke(ctor.GetParameters().Select(p => Make(p.ParameterType, depth + 1)).ToArray());
        foreach (var property in SpecWalk.StoredProperties(type))
            property.SetValue(instance, Make(property.PropertyType, depth + 1));
        return instance;
    }

    private static object NextEnum(Enum e)
    {
        var values = Enum.GetValues(e.GetType());
        var index = Array.IndexOf(values, e);
        return values.GetValue((index + 1) % values.Length)!;
    }

    private static IList Append(IEnumerable items, Type itemType)
    {
        var copy = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(itemType))!;
        foreach (var item in items)
            copy.Add(item);
        copy.Add(Different(itemType, null));
        return copy;
    }

    private static IDictionary Add(IDictionary dictionary, Type valueType)
    {
        var copy = Copy(dictionary);
        copy["ADDED_KEY"] = Make(valueType, 0);
        return copy;
    }

    private static IDictionary Copy(IDictionary dictionary)
    {
        var copy = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), DictionaryValue(dictionary.GetType())!))!;
        foreach (DictionaryEntry entry in dictionary)
            copy[entry.Key] = entry.Value;
        return copy;
    }

    private static Type? Element(Type type) =>
        type == typeof(string) || DictionaryValue(type) is not null ? null
        : type.GetInterfaces().Append(type).FirstOrDefault(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    private static Type? DictionaryValue(Type type) =>
        type.GetInterfaces().Append(type).FirstOrDefault(t => t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>) || t.GetGenericTypeDefinition() == typeof(IDictionary<,>)))?.GetGenericArguments()[1];
}
