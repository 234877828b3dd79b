"""Clerks' admin of reference data and policy: Chinese, bounded queries, search, history."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from medins.models import Designation, Institution, PolicyParameter, PolicyVersion

# Queries of one changelist page, whatever the number of rows: session, user, count(s),
# the page, prefetched designations, filter choices. The same bound holds for 3 and 30 rows.
MAX_QUERIES = 14


def changelist(model):
    return reverse(f"admin:medins_{model}_changelist")


def make_institutions(n, *, institution_factory, designation_factory, region_factory, **_):
    region = region_factory()
    designations = [designation_factory(), designation_factory()]
    institution_factory.create_batch(n, region=region, designations=designations)


def make_catalogue_items(n, *, catalogue_item_factory, region_factory, **_):
    catalogue_item_factory.create_batch(n, region=region_factory(), attributes={"annual_cap": "1000"})


def make_parameters(n, *, policy_version_factory, policy_parameter_factory, **_):
    version = policy_version_factory()
    policy_parameter_factory.create_batch(n, version=version, value={"adult": "1200", "minor": "600"})


def make_versions(n, *, policy_version_factory, policy_parameter_factory, region_factory, **_):
    for _i in range(n):
        version = policy_version_factory(region=region_factory())
        policy_parameter_factory(version=version)


CHANGELISTS = [
    ("institution", make_institutions, "定点医药机构"),
    ("catalogueitem", make_catalogue_items, "目录条目"),
    ("policyparameter", make_parameters, "政策参数"),
    ("policyversion", make_versions, "政策版本"),
]


@pytest.fixture
def factories(
    institution_factory, designation_factory, region_factory, catalogue_item_factory,
    policy_version_factory, policy_parameter_factory,
):
    return {
        "institution_factory": institution_factory,
        "designation_factory": designation_factory,
        "region_factory": region_factory,
        "catalogue_item_factory": catalogue_item_factory,
        "policy_version_factory": policy_version_factory,
        "policy_parameter_factory": policy_parameter_factory,
    }


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize(("model", "make", "title"), CHANGELISTS)
def test_changelist_loads_in_chinese_with_bounded_queries(
    superuser_client, factories, django_assert_max_num_queries, model, make, title, rows
):
    # given
    make(rows, **factories)
    # when
    with django_assert_max_num_queries(MAX_QUERIES):
        response = superuser_client.get(changelist(model))
    # then
    assert response.status_code == 200
    content = response.content.decode()
    assert title in content
    assert "城乡居民医保经办系统" in content  # the site header
    assert f"{rows} 条" in content or f"共 {rows}" in content or str(rows) in content


@pytest.mark.parametrize(("model", "make", "title"), CHANGELISTS)
def test_changelist_queries_do_not_grow_with_rows(superuser_client, factories, model, make, title):
    make(3, **factories)
    with_3, _ = count_queries(superuser_client, changelist(model))
    make(27, **factories)
    with_30, _ = count_queries(superuser_client, changelist(model))
    assert with_30 == with_3


def test_institution_list_shows_names_not_ids(superuser_client, institution_factory, designation_factory, region_factory):
    region = region_factory(name="长春市")
    institution_factory(
        region=region, name="吉林大学第一医院", short_name="吉大一院",
        designations=[designation_factory(name="特药定点医院"), designation_factory(name="转外就医审批")],
    )
    content = superuser_client.get(changelist("institution")).content.decode()
    assert "吉大一院" in content
    assert "特药定点医院、转外就医审批" in content or "转外就医审批、特药定点医院" in content
    assert "长春市" in content


def test_institution_search_by_name_and_short_name(superuser_client, institution_factory):
    institution_factory(name="吉林大学第一医院", short_name="吉大一院")
    institution_factory(name="长春市儿童医院", short_name="市儿童医院")
    content = superuser_client.get(changelist("institution"), {"q": "第一医院"}).content.decode()
    assert "吉林大学第一医院" in content
    assert "长春市儿童医院" not in content
    content = superuser_client.get(changelist("institution"), {"q": "市儿童"}).content.decode()
    assert "长春市儿童医院" in content
    assert "吉林大学第一医院" not in content


def test_catalogue_search_by_code_and_name(superuser_client, catalogue_item_factory):
    catalogue_item_factory(code="SPD-004", name="血友病")
    catalogue_item_factory(code="SPD-006", name="脑瘫")
    content = superuser_client.get(changelist("catalogueitem"), {"q": "血友"}).content.decode()
    assert "血友病" in content and "脑瘫" not in content
    content = superuser_client.get(changelist("catalogueitem"), {"q": "SPD-006"}).content.decode()
    assert "脑瘫" in content and "血友病" not in content


def test_loaded_data_changelists_and_filters(superuser_client, reference_data, django_assert_max_num_queries):
    # given the shipped data: filter institutions by designation, parameters by region
    pharmacy = Designation.objects.get(code="special_drug_pharmacy")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = superuser_client.get(changelist("institution"), {"designations__id__exact": pharmacy.pk})
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert len(shown) == 8 and all(i.kind == "pharmacy" for i in shown)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = superuser_client.get(changelist("policyparameter"), {"region": "370100", "q": "起付线"})
    shown = {(p.version.code, p.key) for p in response.context["cl"].result_list}
    assert ("370100-2021", "chronic.deductible") in shown
    assert {code for code, _ in shown} == {"370100-2021"}


def test_parameter_list_marks_a_local_edit(superuser_client, policy_parameter_factory):
    policy_parameter_factory(key="outpatient_pool.rate", value="0.55", loaded_value="0.50")
    # searched: the shipped parameters fill more than one page of the list
    response = superuser_client.get(changelist("policyparameter"), {"q": "outpatient_pool.rate"})
    assert 'alt="True"' in response.content.decode()


def test_policy_version_page_shows_its_parameters_inline(superuser_client, reference_data):
    version = PolicyVersion.objects.get(code="220100-2021")
    response = superuser_client.get(reverse("admin:medins_policyversion_change", args=[version.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "outpatient_pool.rate" in content
    assert "门诊统筹基金支付比例" in content
    assert "\\u" not in content.split("outpatient_pool.deductible")[1][:400]  # Chinese not escaped


def test_parameter_change_page_and_history_show_the_shipped_value_and_author(superuser_client, reference_data):
    param = PolicyParameter.objects.get(version__code="370100-2021", key="capitation.per_person_per_year")
    url = reverse("admin:medins_policyparameter_change", args=[param.pk])
    response = superuser_client.get(url)
    assert response.status_code == 200
    assert "按人头付费" in response.content.decode()
    # when: a clerk edits the value in the admin
    response = superuser_client.post(url, {
        "version": param.version_id, "key": param.key, "description": param.description,
        "value": '"70"', "source": param.source,
    })
    assert response.status_code == 302
    param.refresh_from_db()
    assert param.value == "70"
    # then: the history names the clerk
    history = superuser_client.get(reverse("admin:medins_policyparameter_history", args=[param.pk]))
    assert history.status_code == 200
    assert param.history.first().history_user.username == "root"
    assert "root" in history.content.decode()


def test_institution_history_page_loads(superuser_client, reference_data):
    inst = Institution.objects.get(code="CC-H-001")
    response = superuser_client.get(reverse("admin:medins_institution_history", args=[inst.pk]))
    assert response.status_code == 200
    assert "按随附参考数据载入" in response.content.decode()  # the change reason, in Chinese (issue 14 item 4)


def test_institution_export_uses_codes(superuser_client, reference_data):
    response = superuser_client.get(reverse("admin:medins_institution_export"))
    assert response.status_code == 200


def test_parameter_page_shows_the_value_as_a_readable_table(superuser_client, reference_data):
    """A clerk reads the deductible table with level and category names, not JSON codes."""
    from medins.models import PolicyParameter

    param = PolicyParameter.objects.get(version__code="220100-2021", key="inpatient.deductible")
    html = superuser_client.get(f"/admin/medins/policyparameter/{param.pk}/change/").content.decode()
    assert 'class="policy-value"' in html
    assert "成年" in html and "1200" in html


def post_value(client, param, value: str, **extra):
    url = reverse("admin:medins_policyparameter_change", args=[param.pk])
    return client.post(url, {"version": param.version_id, "key": param.key, "description": param.description,
                             "value": value, "source": param.source, **extra})


@pytest.mark.parametrize(("key", "value", "why"), [
    ("outpatient_pool.rate", "0.5", "浮点数"),                                        # a JSON number with a fraction
    ("contribution.amounts", '{"adult": 320.5, "minor": "200"}', "浮点数"),           # a float inside
    ("contribution.amounts", '{"adult": "320", "student": "200", "newborn": "200"}', "minor"),  # a category dropped
    ("contribution.amounts", '{"adult": "abc", "minor": "200", "student": "200", "newborn": "200"}', "amounts.adult"),
    ("contribution.waiting_months", '"NaN"', "NaN"),                                 # not a finite number
    ("contribution.window", '"10-01"', "应为映射"),                                  # a mapping became text
    ("catastrophic.bands", '{"upto": null, "rate": "0.8"}', "应为列表"),               # a list became a mapping
    ("catastrophic.bands", '[{"upto": "10000", "rate": "0.6"}, {"upto": null, "rate": "high"}]', "bands[1].rate"),
    ("inpatient.bands", '{"provincial_tertiary": []}', "（发布的值中有此项）"),  # a level dropped (named in the message)
])
def test_a_clerk_cannot_save_a_malformed_parameter(superuser_client, reference_data, key, value, why):
    """Issue #10 item 5, DESIGN policy as data: an admin edit passes the loader's checks (no floats)
    and keeps the shape of the shipped value; the refusal names the place, the value is unchanged."""
    param = PolicyParameter.objects.filter(key=key).order_by("pk").first()
    before = param.value

    response = post_value(superuser_client, param, value)

    assert response.status_code == 200, "saved a malformed value"
    content = response.content.decode()
    assert "未保存" in content and why in content
    param.refresh_from_db()
    assert param.value == before


def test_a_well_formed_edit_is_saved_and_a_malformed_key_refused(superuser_client, reference_data):
    """The same checks let a correct edit through (a new amount, an extra category) and refuse a key
    the loader would refuse."""
    param = PolicyParameter.objects.get(version__code="220100-2021", key="contribution.amounts")

    ok = post_value(superuser_client, param, '{"adult": "330", "minor": "200", "student": "200", "newborn": "200", '
                                              '"college_student": "200"}')
    bad_key = post_value(superuser_client, param, '{"adult": "330", "minor": "200", "student": "200", "newborn": "200"}',
                         key="Contribution amounts")

    assert ok.status_code == 302
    param.refresh_from_db()
    assert param.value["adult"] == "330"
    assert bad_key.status_code == 200 and "outpatient_pool.rate" in bad_key.content.decode()


def test_the_policy_version_page_checks_its_inline_parameters(superuser_client, reference_data):
    """The inline of the version page uses the same form: a float there is refused too."""
    version = PolicyVersion.objects.get(code="370100-2021")
    url = reverse("admin:medins_policyversion_change", args=[version.pk])
    page = superuser_client.get(url)
    formset = page.context["inline_admin_formsets"][0].formset
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({formset.management_form[n].html_name: formset.management_form[n].value() for n in formset.management_form.fields})
    for f in formset.forms:
        for name in f.fields:
            value = f[name].value()
            if value is not None and value is not False:
                data[f[name].html_name] = f.fields[name].prepare_value(value) if name == "value" else str(value)
    target = next(f for f in formset.forms if f.instance.key == "capitation.per_person_per_year")
    data[target["value"].html_name] = "60.5"

    response = superuser_client.post(url, data)

    assert response.status_code == 200 and "未保存" in response.content.decode()
    assert PolicyParameter.objects.get(pk=target.instance.pk).value == "60"


def test_a_version_page_and_the_parameter_list_read_the_catalogue_names_once(client, reference_data):
    """A reader's version page shows every parameter's value as a table naming disease and drug
    codes: the catalogues' names are read once for the page, not once a parameter row (issue review)."""
    from django.contrib.auth.models import Permission, User

    reader = User.objects.create_user("policy-reader", is_staff=True)
    reader.user_permissions.set(Permission.objects.filter(codename__in=["view_policyversion", "view_policyparameter"]))
    client.force_login(reader)
    version = PolicyVersion.objects.get(code="220100-2021")
    assert version.parameters.count() > 5
    for url in (reverse("admin:medins_policyversion_change", args=[version.pk]), changelist("policyparameter")):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        reads = [q["sql"] for q in queries.captured_queries if 'FROM "medins_catalogueitem"' in q["sql"]]
        assert len(reads) == 1, url
    assert "门诊统筹基金支付比例" in client.get(reverse("admin:medins_policyversion_change", args=[version.pk])).content.decode()
